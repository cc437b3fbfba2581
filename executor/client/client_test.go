package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func fastClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(url, "tok", WithRetries(3, time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != "/v1/tasks/orders/my-task" {
			t.Errorf("path = %q", r.URL.Path)
		}
		_, _ = w.Write([]byte(`{"name":"my-task","table":"orders","status":{"phase":"FULL"}}`))
	}))
	defer srv.Close()
	got, err := fastClient(t, srv.URL+"/").GetTask(context.Background(), "orders", "my-task")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "my-task" || got.Status.Phase != task.PhaseFull || calls.Load() != 3 {
		t.Fatalf("task %+v after %d calls, want my-task after 3", got, calls.Load())
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"InvalidArgument","message":"bucket: bad","field":"bucket"}}`))
	}))
	defer srv.Close()
	_, err := fastClient(t, srv.URL).CreateTask(context.Background(), task.Spec{Name: "x"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "InvalidArgument" || ae.Field != "bucket" || ae.Message != "bucket: bad" {
		t.Fatalf("error = %#v", err)
	}
	if !IsInvalid(err) || IsNotFound(err) || IsConflict(err) || calls.Load() != 1 {
		t.Fatalf("classification wrong or retried (%d calls)", calls.Load())
	}
}

func TestPersistentServerErrorGivesUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	err := fastClient(t, srv.URL).DeleteTask(context.Background(), "t", "n")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 || ae.Message != "boom" || calls.Load() != 4 {
		t.Fatalf("error %v after %d calls, want 500 after 4", err, calls.Load())
	}
}

func TestConnectionErrorsAreRetriedAndContextStopsThem(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, _ := New("http://"+addr, "tok", WithRetries(2, time.Millisecond, 2*time.Millisecond))
	if err := c.Health(context.Background()); err == nil {
		t.Fatal("Health against a closed port succeeded")
	}
	slow, _ := New("http://"+addr, "tok", WithRetries(100, 50*time.Millisecond, time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := slow.Health(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Health with a deadline = %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("retries ignored the context")
	}
}

func TestNewValidatesEndpoint(t *testing.T) {
	for _, ep := range []string{"", "127.0.0.1:8470", "ftp://x", "http://"} {
		if _, err := New(ep, "t"); err == nil {
			t.Errorf("New(%q) accepted", ep)
		}
	}
}
