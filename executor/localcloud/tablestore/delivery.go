package tablestore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// DeliveryBackend answers the delivery task API (/CreateDeliveryTask,
// /DescribeDeliveryTask, /ListDeliveryTask, /DeleteDeliveryTask,
// /UpdateDeliveryTask; otsprotocol/delivery.proto). The endpoint
// authenticates and decodes the request; the backend owns the tasks. The
// local cloud has no delivery service of its own: `delivery-executor serve
// --embedded` plugs in its control plane, so a task created here is the
// same task the executor's REST API, CLI and status page show.
//
// A method's error is a protocol error (*Error, built with ObjectNotExist,
// ObjectAlreadyExist or ParameterInvalid) or anything else, which is
// answered as OTSInternalServerError.
type DeliveryBackend interface {
	CreateDeliveryTask(context.Context, *otsprotocol.CreateDeliveryTaskRequest) (*otsprotocol.CreateDeliveryTaskResponse, error)
	DescribeDeliveryTask(context.Context, *otsprotocol.DescribeDeliveryTaskRequest) (*otsprotocol.DescribeDeliveryTaskResponse, error)
	ListDeliveryTask(context.Context, *otsprotocol.ListDeliveryTaskRequest) (*otsprotocol.ListDeliveryTaskResponse, error)
	DeleteDeliveryTask(context.Context, *otsprotocol.DeleteDeliveryTaskRequest) (*otsprotocol.DeleteDeliveryTaskResponse, error)
	UpdateDeliveryTask(context.Context, *otsprotocol.UpdateDeliveryTaskRequest) (*otsprotocol.UpdateDeliveryTaskResponse, error)
}

// ObjectNotExist is the protocol's answer for an unknown table or task.
func ObjectNotExist(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "OTSObjectNotExist", Message: fmt.Sprintf(format, args...)}
}

// ObjectAlreadyExist is the protocol's answer for a name already taken.
func ObjectAlreadyExist(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "OTSObjectAlreadyExist", Message: fmt.Sprintf(format, args...)}
}

// ParameterInvalid is the protocol's answer for a rejected field or a
// request refused in the object's current state.
func ParameterInvalid(format string, args ...any) *Error { return errParam(format, args...) }

// deliveryHolder lets the backend be bound after the endpoint serves (the
// executor starts after the local cloud it reads from).
type deliveryHolder struct{ backend DeliveryBackend }

// deliverySlot is the bound backend; nil: the delivery operations answer
// "Unsupported operation", as they did before any backend existed.
type deliverySlot struct {
	p atomic.Pointer[deliveryHolder]
}

// SetDeliveryBackend binds (or, with nil, unbinds) the delivery API's
// backend. Safe while serving.
func (s *Server) SetDeliveryBackend(b DeliveryBackend) {
	if b == nil {
		s.delivery.p.Store(nil)
		return
	}
	s.delivery.p.Store(&deliveryHolder{backend: b})
}

func (s *Server) deliveryBackend() DeliveryBackend {
	if h := s.delivery.p.Load(); h != nil {
		return h.backend
	}
	return nil
}

// deliveryOps are the delivery operations, registered with the others.
func (s *Server) deliveryOps() map[string]func(*request) (protoadapt.MessageV1, *Error) {
	return map[string]func(*request) (protoadapt.MessageV1, *Error){
		"/CreateDeliveryTask":   s.createDeliveryTask,
		"/DescribeDeliveryTask": s.describeDeliveryTask,
		"/ListDeliveryTask":     s.listDeliveryTask,
		"/DeleteDeliveryTask":   s.deleteDeliveryTask,
		"/UpdateDeliveryTask":   s.updateDeliveryTask,
	}
}

// callDelivery decodes the request into in, runs call on the bound backend
// and turns its error into a protocol error.
func callDelivery[In, Out protoadapt.MessageV1](s *Server, req *request, in In,
	call func(DeliveryBackend, context.Context, In) (Out, error)) (protoadapt.MessageV1, *Error) {
	b := s.deliveryBackend()
	if b == nil {
		return nil, errParam("Unsupported operation: %s.", req.op[1:])
	}
	if e := decode(req, in); e != nil {
		return nil, e
	}
	out, err := call(b, req.ctx, in)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return nil, pe
		}
		s.log.Error("delivery backend failed", "op", req.op, "request_id", req.id, "error", err)
		return nil, &Error{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error: " + err.Error()}
	}
	return out, nil
}

func (s *Server) createDeliveryTask(req *request) (protoadapt.MessageV1, *Error) {
	return callDelivery(s, req, &otsprotocol.CreateDeliveryTaskRequest{}, DeliveryBackend.CreateDeliveryTask)
}

// describeDeliveryTask refuses to send an answer without taskConfig: the
// Go SDK dereferences it unconditionally (delivery_mode.go toOSSTaskConfig).
func (s *Server) describeDeliveryTask(req *request) (protoadapt.MessageV1, *Error) {
	out, e := callDelivery(s, req, &otsprotocol.DescribeDeliveryTaskRequest{}, DeliveryBackend.DescribeDeliveryTask)
	if e != nil {
		return nil, e
	}
	if resp, ok := out.(*otsprotocol.DescribeDeliveryTaskResponse); !ok || resp == nil || resp.TaskConfig == nil {
		s.log.Error("delivery backend described a task without taskConfig", "request_id", req.id)
		return nil, &Error{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error: the task has no configuration."}
	}
	return out, nil
}

// listDeliveryTask answers OTSObjectNotExist for a table that does not
// exist (and has no tasks left from before it was deleted).
func (s *Server) listDeliveryTask(req *request) (protoadapt.MessageV1, *Error) {
	in := &otsprotocol.ListDeliveryTaskRequest{}
	out, e := callDelivery(s, req, in, DeliveryBackend.ListDeliveryTask)
	if e != nil {
		return nil, e
	}
	if resp, ok := out.(*otsprotocol.ListDeliveryTaskResponse); ok && len(resp.GetTasks()) == 0 {
		if _, err := s.store.DescribeTable(req.instance, in.GetTableName()); errors.Is(err, storage.ErrTableNotFound) {
			return nil, ObjectNotExist("Requested table does not exist: %s.", in.GetTableName())
		}
	}
	return out, nil
}

func (s *Server) deleteDeliveryTask(req *request) (protoadapt.MessageV1, *Error) {
	return callDelivery(s, req, &otsprotocol.DeleteDeliveryTaskRequest{}, DeliveryBackend.DeleteDeliveryTask)
}

func (s *Server) updateDeliveryTask(req *request) (protoadapt.MessageV1, *Error) {
	return callDelivery(s, req, &otsprotocol.UpdateDeliveryTaskRequest{}, DeliveryBackend.UpdateDeliveryTask)
}
