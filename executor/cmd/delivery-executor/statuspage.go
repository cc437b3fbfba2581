package main

import (
	"fmt"
	"log/slog"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// newStatusPage builds the read-only status page served at /ui on the API
// listener. It reads the registry in process, counts source tables through the
// Tablestore endpoint for the full-sync progress bar, and lists the latest
// objects through the region's OSS endpoint with each task's role.
func newStatusPage(registry state.Registry, tablestoreURL, instance, accessKeyID, accessKeySecret string,
	ossEndpoints map[string]string, log *slog.Logger) (*ui.Page, error) {
	counter, err := ui.NewTablestoreCounter(tablestoreURL, instance, accessKeyID, accessKeySecret)
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
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
