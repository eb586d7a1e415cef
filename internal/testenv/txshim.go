package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// txShim stands in front of dynalite, which implements DynamoDB's item
// operations but not TransactWriteItems. It passes every request through
// one at a time, and carries out TransactWriteItems itself with dynalite's
// own operations: nothing else runs meanwhile, so the transaction is atomic
// to every client. Conditions are judged by dynalite, not here: each
// conditional item is probed with a conditional UpdateItem that is undone at
// once, and only when every condition holds are the writes made. A failed
// condition answers TransactionCanceledException with one reason per item,
// as DynamoDB does.
type txShim struct {
	upstream string
	client   *http.Client

	mu   sync.Mutex
	keys map[string][]string // key attribute names by table
}

const (
	targetPrefix  = "DynamoDB_20120810."
	jsonType      = "application/x-amz-json-1.0"
	probeName     = "#fleetbotTxProbe"
	probeValue    = ":fleetbotTxProbe"
	probeAttr     = "fleetbot_tx_probe"
	errPrefix     = "com.amazonaws.dynamodb.v20120810#"
	condFailedErr = "ConditionalCheckFailedException"
)

func newTxShim(upstream string) *txShim {
	return &txShim{upstream: strings.TrimSuffix(upstream, "/"), client: &http.Client{}, keys: map[string][]string{}}
}

func (x *txShim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if r.Header.Get("X-Amz-Target") == targetPrefix+"TransactWriteItems" {
		x.transact(w, r.Header, body)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, x.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := x.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// answer is one upstream reply.
type answer struct {
	status int
	body   []byte
	fields map[string]any
}

func (a answer) errorType() string {
	t, _ := a.fields["__type"].(string)
	return t[strings.LastIndex(t, "#")+1:]
}

// call makes one operation upstream with the caller's credentials headers.
func (x *txShim) call(h http.Header, op string, in map[string]any) (answer, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequest(http.MethodPost, x.upstream+"/", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", jsonType)
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := h.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := x.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s: %w", op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	a := answer{status: resp.StatusCode}
	if a.body, err = io.ReadAll(resp.Body); err != nil {
		return answer{}, fmt.Errorf("%s: %w", op, err)
	}
	if len(a.body) > 0 {
		if err := json.Unmarshal(a.body, &a.fields); err != nil {
			return answer{}, fmt.Errorf("%s: decode answer %q: %w", op, a.body, err)
		}
	}
	return a, nil
}

// txItem is one entry of TransactItems.
type txItem struct {
	kind  string // ConditionCheck, Put, Delete or Update
	spec  map[string]any
	table string
	key   map[string]any
}

func (x *txShim) transact(w http.ResponseWriter, h http.Header, body []byte) {
	var in struct {
		TransactItems []map[string]map[string]any
	}
	if err := json.Unmarshal(body, &in); err != nil {
		reply(w, http.StatusBadRequest, "com.amazon.coral.service#SerializationException", err.Error(), nil)
		return
	}
	items := make([]txItem, 0, len(in.TransactItems))
	seen := map[string]bool{}
	for _, entry := range in.TransactItems {
		if len(entry) != 1 {
			reply(w, http.StatusBadRequest, errPrefix+"ValidationException", "each TransactItem must hold exactly one operation", nil)
			return
		}
		for kind, spec := range entry {
			it, err := x.item(h, kind, spec)
			if err != nil {
				reply(w, http.StatusBadRequest, errPrefix+"ValidationException", err.Error(), nil)
				return
			}
			id, _ := json.Marshal([]any{it.table, it.key})
			if seen[string(id)] {
				reply(w, http.StatusBadRequest, errPrefix+"ValidationException",
					"Transaction request cannot include multiple operations on one item", nil)
				return
			}
			seen[string(id)] = true
			items = append(items, it)
		}
	}
	reasons := make([]map[string]any, len(items))
	codes := make([]string, len(items))
	failed := false
	for i, it := range items {
		held, refused, err := x.probe(h, it)
		switch {
		case err != nil:
			reply(w, http.StatusInternalServerError, errPrefix+"InternalServerError", err.Error(), nil)
			return
		case refused != nil:
			relay(w, *refused)
			return
		case held:
			codes[i], reasons[i] = "None", map[string]any{"Code": "None"}
		default:
			failed = true
			codes[i] = "ConditionalCheckFailed"
			reasons[i] = map[string]any{"Code": codes[i], "Message": "The conditional request failed"}
		}
	}
	if failed {
		reply(w, http.StatusBadRequest, errPrefix+"TransactionCanceledException",
			"Transaction cancelled, please refer cancellation reasons for specific reasons ["+strings.Join(codes, ", ")+"]",
			map[string]any{"CancellationReasons": reasons})
		return
	}
	for _, it := range items {
		a, err := x.apply(h, it)
		if err != nil {
			reply(w, http.StatusInternalServerError, errPrefix+"InternalServerError", err.Error(), nil)
			return
		}
		if a.status != http.StatusOK {
			relay(w, a)
			return
		}
	}
	w.Header().Set("Content-Type", jsonType)
	_, _ = w.Write([]byte("{}"))
}

// item reads one TransactItems entry and finds the key it touches.
func (x *txShim) item(h http.Header, kind string, spec map[string]any) (txItem, error) {
	it := txItem{kind: kind, spec: spec}
	it.table, _ = spec["TableName"].(string)
	if it.table == "" {
		return it, fmt.Errorf("%s has no TableName", kind)
	}
	switch kind {
	case "ConditionCheck", "Delete", "Update":
		it.key, _ = spec["Key"].(map[string]any)
	case "Put":
		names, err := x.keyNames(h, it.table)
		if err != nil {
			return it, err
		}
		item, _ := spec["Item"].(map[string]any)
		it.key = map[string]any{}
		for _, n := range names {
			it.key[n] = item[n]
		}
	default:
		return it, fmt.Errorf("unknown TransactItems operation %s", kind)
	}
	if len(it.key) == 0 {
		return it, fmt.Errorf("%s on %s has no key", kind, it.table)
	}
	return it, nil
}

// keyNames returns the key attributes of table, asking upstream once.
func (x *txShim) keyNames(h http.Header, table string) ([]string, error) {
	if names, ok := x.keys[table]; ok {
		return names, nil
	}
	a, err := x.call(h, "DescribeTable", map[string]any{"TableName": table})
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, fmt.Errorf("describe table %s: %s", table, a.body)
	}
	var d struct {
		Table struct {
			KeySchema []struct{ AttributeName string }
		}
	}
	if err := json.Unmarshal(a.body, &d); err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	var names []string
	for _, k := range d.Table.KeySchema {
		names = append(names, k.AttributeName)
	}
	x.keys[table] = names
	return names, nil
}

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// used keeps the entries of names or values (from spec[field]) that expr
// refers to: DynamoDB refuses unused ones.
func used(spec map[string]any, field, expr string) map[string]any {
	all, _ := spec[field].(map[string]any)
	out := map[string]any{}
	for _, p := range placeholder.FindAllString(expr, -1) {
		if v, ok := all[p]; ok {
			out[p] = v
		}
	}
	return out
}

// probe judges its condition by a conditional UpdateItem that sets a marker
// attribute, then puts the item back as it was. held is false when the
// condition failed; refused is an upstream error answer (a bad expression)
// for the caller to relay.
func (x *txShim) probe(h http.Header, it txItem) (held bool, refused *answer, err error) {
	cond, _ := it.spec["ConditionExpression"].(string)
	if cond == "" {
		return true, nil, nil
	}
	names := used(it.spec, "ExpressionAttributeNames", cond)
	names[probeName] = probeAttr
	values := used(it.spec, "ExpressionAttributeValues", cond)
	values[probeValue] = map[string]any{"BOOL": true}
	a, err := x.call(h, "UpdateItem", map[string]any{
		"TableName":                 it.table,
		"Key":                       it.key,
		"ConditionExpression":       cond,
		"UpdateExpression":          "SET " + probeName + " = " + probeValue,
		"ExpressionAttributeNames":  names,
		"ExpressionAttributeValues": values,
		"ReturnValues":              "ALL_OLD",
	})
	switch {
	case err != nil:
		return false, nil, err
	case a.status != http.StatusOK && a.errorType() == condFailedErr:
		return false, nil, nil
	case a.status != http.StatusOK:
		return false, &a, nil
	}
	old, _ := a.fields["Attributes"].(map[string]any)
	undo := map[string]any{"TableName": it.table}
	op := "DeleteItem"
	if len(old) > 0 {
		op, undo["Item"] = "PutItem", old
	} else {
		undo["Key"] = it.key
	}
	u, err := x.call(h, op, undo)
	if err == nil && u.status != http.StatusOK {
		err = fmt.Errorf("undo condition probe on %s: %s", it.table, u.body)
	}
	return err == nil, nil, err
}

// apply makes one write of a transaction whose conditions all hold.
func (x *txShim) apply(h http.Header, it txItem) (answer, error) {
	switch it.kind {
	case "Put":
		return x.call(h, "PutItem", map[string]any{"TableName": it.table, "Item": it.spec["Item"]})
	case "Delete":
		return x.call(h, "DeleteItem", map[string]any{"TableName": it.table, "Key": it.key})
	case "Update":
		expr, _ := it.spec["UpdateExpression"].(string)
		in := map[string]any{"TableName": it.table, "Key": it.key, "UpdateExpression": expr}
		if n := used(it.spec, "ExpressionAttributeNames", expr); len(n) > 0 {
			in["ExpressionAttributeNames"] = n
		}
		if v := used(it.spec, "ExpressionAttributeValues", expr); len(v) > 0 {
			in["ExpressionAttributeValues"] = v
		}
		return x.call(h, "UpdateItem", in)
	}
	return answer{status: http.StatusOK}, nil
}

// reply writes an error answer in DynamoDB's JSON protocol.
func reply(w http.ResponseWriter, status int, typ, msg string, extra map[string]any) {
	body := map[string]any{"__type": typ, "message": msg}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// relay passes an upstream error answer on unchanged.
func relay(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}
