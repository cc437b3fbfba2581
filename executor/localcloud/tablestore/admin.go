package tablestore

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/internal/adminhttp"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// AdminTablesPath prefixes the local cloud's own table administration, which
// has no counterpart in the Tablestore protocol (the real service splits
// partitions by itself):
//
//	POST /_admin/tables/{table}/split          split the partition holding the most rows
//	POST /_admin/tables/{table}/split {"partition":"<id>"}   split that partition
//
// The answer is 200 with {"table", "parent", "children": [left, right],
// "parentRows"}. Like /_admin/faults it answers loopback clients only and
// needs no signature; errors are {"error": "..."} with 400 (bad body, or the
// partition cannot be split), 403 (not loopback), 404 (no such table or
// partition) or 405 (not POST).
const AdminTablesPath = "/_admin/tables/"

// maxAdminBody bounds an admin request body.
const maxAdminBody = 4 << 10

// SplitRequest is the optional body of POST /_admin/tables/{table}/split.
type SplitRequest struct {
	Partition string `json:"partition"`
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !adminhttp.FromLoopback(r) {
		adminhttp.Error(w, http.StatusForbidden, "the table admin endpoint answers loopback clients only")
		return
	}
	table, action, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, AdminTablesPath), "/")
	if !ok || table == "" || action != "split" {
		adminhttp.Error(w, http.StatusNotFound, "unknown admin path "+r.URL.Path+"; use POST "+AdminTablesPath+"{table}/split")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		adminhttp.Error(w, http.StatusMethodNotAllowed, "split: use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		adminhttp.Error(w, http.StatusBadRequest, "split: body too large or unreadable")
		return
	}
	var req SplitRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			adminhttp.Error(w, http.StatusBadRequest, `split: body must be {"partition": "<id>"} or empty: `+err.Error())
			return
		}
	}
	res, err := s.store.Split(s.cfg.Instance, table, req.Partition)
	switch {
	case errors.Is(err, storage.ErrTableNotFound), errors.Is(err, storage.ErrPartitionNotFound):
		adminhttp.Error(w, http.StatusNotFound, "split: "+err.Error())
		return
	case errors.Is(err, storage.ErrCannotSplit):
		adminhttp.Error(w, http.StatusBadRequest, "split: "+err.Error())
		return
	case err != nil:
		adminhttp.Error(w, http.StatusInternalServerError, "split: "+err.Error())
		return
	}
	s.log.Info("partition split", "table", table, "parent", res.Parent, "children", res.Children, "rows", res.ParentRows)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
