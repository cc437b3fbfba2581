package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// newStatusPage builds the read-only status page served at /ui on the API
// listener. It reads the registry in process, estimates source table sizes
// with counter for the full-sync progress bar, and lists the latest objects
// through the region's OSS endpoint with each task's role.
func newStatusPage(registry state.Registry, counter ui.RowCounter, ossEndpoints map[string]string, log *slog.Logger) (*ui.Page, error) {
	page, err := ui.New(ui.Config{
		Registry:     registry,
		OSSEndpoints: ossEndpoints,
		Counter:      counter,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	return page, nil
}

// storageRowCounter counts a table of the embedded local Tablestore in
// process (storage.CountRows counts its stored keys): the same answer as a
// GetRange count over the SDK (ui.TablestoreCounter, for real instances),
// without encoding every row for HTTP while the full sync reads the same
// table.
type storageRowCounter struct {
	store    *storage.Store
	instance string
}

func (c storageRowCounter) CountRows(_ context.Context, table string) (int64, error) {
	n, err := c.store.CountRows(c.instance, table)
	if err != nil {
		return 0, fmt.Errorf("count rows of %q: %w", table, err)
	}
	return n, nil
}
