package dynamostore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A DynamoDB item holds at most 400 KB, and the state of a campaign of a
// few hundred clusters is more. A record whose value is larger than
// maxInline keeps it in parts (docs/store.md): the value compressed with
// gzip, cut into items of at most partSize bytes in the part partition,
// written before the record item that names them, and deleted once a
// later write or a delete replaced them. Parts are never changed: a write
// makes new ones under an id of its own, so a reader that finds the parts
// its record item names reads the value that item was written with.
const (
	maxInline = 300 << 10
	partSize  = 300 << 10
	// orphanAge is how old a part no record item names must be before a
	// write of its record deletes it: a write that is still under way
	// names its parts within seconds.
	orphanAge = time.Hour
)

// partRef is where a record's parts are: their id, how many, and the
// SHA-256 of the compressed value they hold in turn.
type partRef struct {
	id    string
	count int
	sum   string
}

// Attributes of a record item that keeps its value in parts, and of a
// part (attrWritten: when, Unix ns).
const (
	attrPartID    = "pid"
	attrPartCount = "pcount"
	attrPartSum   = "psum"
	attrWritten   = "written"
)

// partsOf returns where the record item's parts are; ok is false for a
// record whose value is inline (or a tombstone).
func partsOf(item map[string]types.AttributeValue) (partRef, bool, error) {
	id := getS(item, attrPartID)
	if id == "" {
		return partRef{}, false, nil
	}
	n, err := getN(item, attrPartCount)
	if err != nil {
		return partRef{}, false, err
	}
	return partRef{id: id, count: int(n), sum: getS(item, attrPartSum)}, true, nil
}

// partKey is the sort key of part i of the record k's parts id.
func partKey(k, id string, i int) string {
	return k + "\x00" + id + "\x00" + strconv.Itoa(i)
}

// partPrefix is the start of the sort keys of every part of record k.
func partPrefix(k string) string { return k + "\x00" }

// writeParts compresses value and writes it as the parts of a new write
// of record k.
func (s *Store) writeParts(ctx context.Context, k string, value []byte) (partRef, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return partRef{}, err
	}
	if _, err := zw.Write(value); err != nil {
		return partRef{}, err
	}
	if err := zw.Close(); err != nil {
		return partRef{}, err
	}
	packed := buf.Bytes()
	sum := sha256.Sum256(packed)
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	ref := partRef{id: hex.EncodeToString(nonce), count: (len(packed) + partSize - 1) / partSize, sum: hex.EncodeToString(sum[:])}
	for i := range ref.count {
		chunk := packed[i*partSize : min(len(packed), (i+1)*partSize)]
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				attrPK: str(partPart), attrSK: str(partKey(k, ref.id, i)),
				attrValue: &types.AttributeValueMemberB{Value: chunk}, attrWritten: num(s.now().UnixNano()),
			},
		})
		if err != nil {
			s.deleteParts(ctx, k, partRef{id: ref.id, count: i})
			return partRef{}, fmt.Errorf("write part %d of %d: %w", i+1, ref.count, err)
		}
	}
	return ref, nil
}

// errPartGone reports a part that is no longer there: a later write
// replaced the record between reading its item and its parts.
var errPartGone = errors.New("a part of the value is gone")

// readParts reads, checks and uncompresses the value in ref's parts.
func (s *Store) readParts(ctx context.Context, k string, ref partRef) ([]byte, error) {
	var packed []byte
	for i := range ref.count {
		item, err := s.get(ctx, partPart, partKey(k, ref.id, i))
		if err != nil {
			return nil, fmt.Errorf("read part %d of %d: %w", i+1, ref.count, err)
		}
		if item == nil {
			return nil, fmt.Errorf("part %d of %d: %w", i+1, ref.count, errPartGone)
		}
		packed = append(packed, getB(item, attrValue)...)
	}
	if sum := sha256.Sum256(packed); hex.EncodeToString(sum[:]) != ref.sum {
		return nil, fmt.Errorf("the %d parts %s do not hold the value their record names (SHA-256 %s)", ref.count, ref.id, ref.sum)
	}
	zr, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		return nil, fmt.Errorf("parts %s: %w", ref.id, err)
	}
	value, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("parts %s: %w", ref.id, err)
	}
	return value, nil
}

// deleteParts deletes the parts of ref, which no record item names any
// more (or never did). A part that cannot be deleted stays: it takes
// room, and nothing reads it.
func (s *Store) deleteParts(ctx context.Context, k string, ref partRef) {
	for i := range ref.count {
		s.deletePart(ctx, partKey(k, ref.id, i))
	}
}

// deletePart deletes the part at sort key sk, even when ctx is cancelled
// (the write it follows is made); one that cannot be deleted stays for a
// later sweep (sweepParts).
func (s *Store) deletePart(ctx context.Context, sk string) {
	_, _ = s.client.DeleteItem(context.WithoutCancel(ctx), &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       key(partPart, sk),
	})
}

// value returns the value of a record item, reading its parts when it has
// any; errPartGone says the item was replaced since it was read.
func (s *Store) value(ctx context.Context, k string, item map[string]types.AttributeValue) ([]byte, error) {
	ref, ok, err := partsOf(item)
	if err != nil || !ok {
		return getB(item, attrValue), err
	}
	return s.readParts(ctx, k, ref)
}

// sweepParts deletes the parts of record k that no record item names, when
// they are older than orphanAge: those a process stopped before writing
// the record item that would have named them, or before deleting them once
// replaced, left behind. keep is the id the record item names now. A part
// that cannot be read or deleted stays for the next write.
func (s *Store) sweepParts(ctx context.Context, k, keep string) {
	items, err := s.query(ctx, partPart, partPrefix(k), attrSK, attrWritten)
	if err != nil {
		return
	}
	before := s.now().Add(-orphanAge).UnixNano()
	for _, item := range items {
		sk := getS(item, attrSK)
		id, _, _ := strings.Cut(strings.TrimPrefix(sk, partPrefix(k)), "\x00")
		if written, err := getN(item, attrWritten); id == keep || err != nil || written > before {
			continue
		}
		s.deletePart(ctx, sk)
	}
}
