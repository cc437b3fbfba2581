package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func (s *Server) roleNotFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, task.CodeRoleNotFound, "role "+name+" does not exist", "")
}

// putRole: PUT /v1/roles/{name} creates or replaces a role. The secret is
// stored encrypted and never returned or logged.
func (s *Server) putRole(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := task.ValidateRoleName(name); err != nil {
		fe, _ := task.AsFieldError(err)
		writeFieldError(w, fe)
		return
	}
	var in task.RoleInput
	if fe := decodeBody(w, r, &in); fe != nil {
		writeFieldError(w, fe)
		return
	}
	if err := task.ValidateRoleInput(in); err != nil {
		fe, _ := task.AsFieldError(err)
		writeFieldError(w, fe)
		return
	}
	arn := task.RoleARN(s.cfg.AccountID, name)
	// ARNs lower-case the name, so "Writer" and "writer" would share one.
	if other, err := s.cfg.Registry.RoleByARN(r.Context(), arn); err == nil && other.Name != name {
		writeError(w, http.StatusConflict, task.CodeRoleAlreadyExists,
			"name: role "+other.Name+" already has the ARN "+arn+" (role names differing only in case share an ARN)", "name")
		return
	}
	role := task.Role{Name: name, ARN: arn, OSSAccessKeyID: in.OSSAccessKeyID, Description: in.Description, CreatedAt: time.Now().UTC()}
	if old, err := s.cfg.Registry.GetRole(r.Context(), name); err == nil {
		role.CreatedAt = old.CreatedAt
	} else if !errors.Is(err, state.ErrNotFound) {
		s.log.Warn("replacing a role whose stored record cannot be read", "role", name, "error", err)
	}
	rec := state.RoleRecord{Role: role, Credentials: state.Credentials{
		AccessKeyID: in.OSSAccessKeyID, AccessKeySecret: in.OSSAccessKeySecret}}
	if err := s.cfg.Registry.PutRole(r.Context(), rec); err != nil {
		s.internalError(w, r, "store role", err)
		return
	}
	s.log.Info("role stored", "role", name, "arn", arn)
	writeJSON(w, http.StatusOK, role)
}

// getRole: GET /v1/roles/{name}.
func (s *Server) getRole(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rec, err := s.cfg.Registry.GetRole(r.Context(), name)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			s.roleNotFound(w, name)
			return
		}
		s.internalError(w, r, "read role", err)
		return
	}
	writeJSON(w, http.StatusOK, rec.Role)
}

// listRoles: GET /v1/roles.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
	roles, err := s.cfg.Registry.ListRoles(r.Context())
	if err != nil {
		s.internalError(w, r, "list roles", err)
		return
	}
	writeJSON(w, http.StatusOK, task.RoleList{Roles: roles})
}

// deleteRole: DELETE /v1/roles/{name}. Tasks using the role then report
// UnAuthorized until a role with that ARN exists again.
func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.cfg.Registry.DeleteRole(r.Context(), name); err != nil {
		if errors.Is(err, state.ErrNotFound) {
			s.roleNotFound(w, name)
			return
		}
		s.internalError(w, r, "delete role", err)
		return
	}
	s.log.Info("role deleted", "role", name)
	w.WriteHeader(http.StatusNoContent)
}
