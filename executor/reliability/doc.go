// Package reliability holds no code: its tests prove the delivery guarantees
// against the real local cloud behind the fault injector (package
// executor/localcloud/fault), the real executor API and pipelines, and the
// official SDKs: rows delivered exactly once under OSS and tunnel failures,
// an OSS outage and a bucket deleted mid-way; role secrets absent from logs,
// API answers, metrics and the data file; and many tasks on one executor.
//
// The default `go test` runs short variants (20,000 rows, a 5 s outage, 8
// tables); DELIVERY_LONG=1 runs the sizes of the acceptance criteria
// (200,000 rows, a 30 s outage, 50 tables).
package reliability
