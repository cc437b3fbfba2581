// Package scaleout holds the multi-process test of several executors
// sharing one registry: `delivery-executor serve --config` processes with
// "state": {"store": "tablestore"} against one `delivery-executor local`
// process, one of them killed with SIGKILL mid-way and replaced, every
// source row checked to arrive exactly once. It has no code of its own; the
// parts it exercises live in executor/state (the Tablestore registry),
// executor/api (initialization claims, the reconcile loop) and
// executor/pipeline (Manager.Reconcile).
package scaleout
