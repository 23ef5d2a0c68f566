package sagaclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/workflows"
)

// Filter selects the sagas List returns; a zero field selects all.
type Filter struct {
	// ClientID keeps the sagas placed by this API client.
	ClientID string
	// CustomerID keeps this customer's sagas; with CustomerRefs set,
	// through the customer's references.
	CustomerID string
	// Status keeps the sagas whose SagaStatus is Status.
	Status workflows.Status
}

// Summary is a saga as Temporal's visibility sees it: its search
// attributes and times.
type Summary struct {
	OrderID    string `json:"order_id"`
	WorkflowID string `json:"workflow_id"`
	// CustomerID is empty when only a reference to it is stored (see
	// Client.CustomerRefs) and the filter did not name it.
	CustomerID string           `json:"customer_id,omitempty"`
	ClientID   string           `json:"client_id,omitempty"`
	Status     workflows.Status `json:"status"`
	StartTime  time.Time        `json:"start_time"`
	// CloseTime is set once the saga has finished.
	CloseTime *time.Time `json:"close_time,omitempty"`

	runID      string
	terminated bool
}

// newer reports whether a comes before b in a listing: started later, or at
// the same time with a greater workflow ID.
func (a Summary) newer(b Summary) bool {
	if !a.StartTime.Equal(b.StartTime) {
		return a.StartTime.After(b.StartTime)
	}
	return a.WorkflowID > b.WorkflowID
}

// Page is one page of a listing.
type Page struct {
	Orders []Summary
	// Next continues the listing after Orders; "" on the last page.
	Next string
}

// List returns up to size sagas matching f, newest first by start time,
// from the position token names ("" for the first page). Each saga appears
// once across the pages of a listing, however their statuses change
// meanwhile; sagas started after the first page do not appear. A token
// that is not one List returned is EINVALID naming page_token.
//
// Temporal's SQL visibility store orders by close time (running sagas
// first, newest start first, then finished sagas, last closed first) and
// takes no ORDER BY. A saga's close time changes when it ends, so paging
// in that order could show a saga twice; start times never change. So List
// reads the running sagas (already in start order) and the finished ones
// (in close order, until one closed before the newest starts found so far:
// a saga closes after it starts, so none after it is newer), merges them,
// and pages by its own cursor of start time and workflow ID.
func (s *Client) List(ctx context.Context, f Filter, size int, token string) (Page, error) {
	if size < 1 {
		return Page{}, ordersaga.Invalid("page_size", "page_size must be at least 1")
	}
	after, err := decodeCursor(token)
	if err != nil {
		return Page{}, err
	}
	q := s.listQuery(f, after)
	top := newest{n: size + 1} // one more tells whether a next page exists
	eligible := func(sm Summary) bool { return after == nil || after.newer(sm) }
	err = s.scan(ctx, q+" AND ExecutionStatus = 'Running'", top.n, func(sm Summary) bool {
		if eligible(sm) {
			top.add(sm)
		}
		return !top.full()
	})
	if err != nil {
		return Page{}, err
	}
	var stale error
	err = s.scan(ctx, q+" AND ExecutionStatus != 'Running'", 2*top.n, func(sm Summary) bool {
		if top.full() && sm.CloseTime != nil && sm.CloseTime.Before(top.last().StartTime) {
			return false
		}
		if !eligible(sm) {
			return true
		}
		if sm.terminated { // perhaps by a reset, which started another run
			desc, err := s.describe(ctx, sm.OrderID)
			if err != nil {
				stale = err
				return false
			}
			if desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() != sm.runID {
				return true // an earlier run: the order is listed by its current one
			}
		}
		top.add(sm)
		return true
	})
	if err == nil {
		err = stale
	}
	if err != nil {
		return Page{}, err
	}
	page := Page{Orders: top.items}
	if len(top.items) > size {
		page.Orders = top.items[:size]
		page.Next = encodeCursor(top.items[size-1])
	}
	if s.CustomerRefs != nil {
		for i := range page.Orders {
			page.Orders[i].CustomerID = f.CustomerID // the attribute holds a reference
		}
	}
	return page, nil
}

// listQuery is the visibility query of f's sagas started no later than
// after. Every value is quoted: none can change the query's meaning.
func (s *Client) listQuery(f Filter, after *Summary) string {
	q := []string{"WorkflowType = " + quote(workflows.WorkflowName)}
	if f.ClientID != "" {
		q = append(q, workflows.ClientIDKey.GetName()+" = "+quote(f.ClientID))
	}
	if f.CustomerID != "" {
		q = append(q, s.customerQuery(f.CustomerID))
	}
	if f.Status != "" {
		q = append(q, workflows.SagaStatusKey.GetName()+" = "+quote(string(f.Status)))
	}
	if after != nil {
		q = append(q, "StartTime <= "+quote(after.StartTime.UTC().Format(time.RFC3339Nano)))
	}
	return strings.Join(q, " AND ")
}

// customerQuery matches the sagas of customerID: its CustomerId search
// attribute holds the ID, or with CustomerRefs set one of its references.
func (s *Client) customerQuery(customerID string) string {
	values := []string{customerID}
	if s.CustomerRefs != nil {
		values = s.CustomerRefs(customerID)
	}
	key := workflows.CustomerIDKey.GetName()
	if len(values) == 1 {
		return key + " = " + quote(values[0])
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return key + " IN (" + strings.Join(quoted, ", ") + ")"
}

// quote makes v a string literal of Temporal's visibility query language,
// escaping backslashes and quotes.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// scan lists the sagas matching query, pageSize at a time, and hands each
// to each until it returns false or none are left.
func (s *Client) scan(ctx context.Context, query string, pageSize int, each func(Summary) bool) error {
	var token []byte
	for {
		res, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: int32(pageSize), NextPageToken: token})
		if err != nil {
			return domainError("list sagas", err)
		}
		for _, e := range res.GetExecutions() {
			if !each(summarize(e)) {
				return nil
			}
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// summarize reads a saga's summary from its visibility record.
func summarize(e *workflowpb.WorkflowExecutionInfo) Summary {
	attr := func(name string) string {
		var v string
		if p := e.GetSearchAttributes().GetIndexedFields()[name]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &v) // a keyword; "" if not
		}
		return v
	}
	sm := Summary{
		OrderID:    attr(workflows.OrderIDKey.GetName()),
		WorkflowID: e.GetExecution().GetWorkflowId(),
		CustomerID: attr(workflows.CustomerIDKey.GetName()),
		ClientID:   attr(workflows.ClientIDKey.GetName()),
		Status:     workflows.Status(attr(workflows.SagaStatusKey.GetName())),
		StartTime:  e.GetStartTime().AsTime(),
		runID:      e.GetExecution().GetRunId(),
		terminated: e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
	}
	if e.GetCloseTime() != nil {
		t := e.GetCloseTime().AsTime()
		sm.CloseTime = &t
	}
	return sm
}

// newest keeps the n newest summaries, newest first, each workflow once.
type newest struct {
	n     int
	items []Summary
}

func (t *newest) add(sm Summary) {
	if i := slices.IndexFunc(t.items, func(o Summary) bool { return o.WorkflowID == sm.WorkflowID }); i >= 0 {
		switch o := t.items[i]; {
		case o.runID == sm.runID:
			t.items[i] = sm // seen running, now finished: the later record
			return
		case o.StartTime.After(sm.StartTime):
			return // an earlier run of a saga an operator reset
		}
		t.items = slices.Delete(t.items, i, i+1) // a later run: it takes the place
	}
	i, _ := slices.BinarySearchFunc(t.items, sm, func(o, target Summary) int {
		if o.newer(target) {
			return -1
		}
		return 1
	})
	t.items = slices.Insert(t.items, i, sm)
	if len(t.items) > t.n {
		t.items = t.items[:t.n]
	}
}

func (t *newest) full() bool    { return len(t.items) >= t.n }
func (t *newest) last() Summary { return t.items[len(t.items)-1] }

// maxTokenLen bounds the page tokens List accepts.
const maxTokenLen = 256

// encodeCursor is the page token of the position after sm: opaque to
// clients, base64url of its start time and workflow ID.
func encodeCursor(sm Summary) string {
	raw, _ := json.Marshal(cursor{Start: sm.StartTime, WorkflowID: sm.WorkflowID})
	return base64.RawURLEncoding.EncodeToString(raw)
}

type cursor struct {
	Start      time.Time `json:"s"`
	WorkflowID string    `json:"w"`
}

// decodeCursor returns the position token names; nil for "".
func decodeCursor(token string) (*Summary, error) {
	if token == "" {
		return nil, nil
	}
	bad := ordersaga.Invalid("page_token", "page_token is not a token this API returned")
	if len(token) > maxTokenLen {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, bad
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.WorkflowID == "" {
		return nil, bad
	}
	// The start time goes into the visibility query in UTC: an offset may
	// not carry it out of the years Temporal parses (a crafted token would
	// otherwise make the query itself fail).
	if y := c.Start.UTC().Year(); y < 2000 || y > 9999 {
		return nil, bad
	}
	return &Summary{StartTime: c.Start, WorkflowID: c.WorkflowID}, nil
}
