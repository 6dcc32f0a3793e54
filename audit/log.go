package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Client is who made a request: the verified access token's issuer, subject
// and client id, or only the peer address when the server requires no token.
type Client struct {
	Issuer   string `json:"iss,omitempty"`
	Subject  string `json:"sub,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Peer     string `json:"peer,omitempty"`
}

// Patient is one patient a request returned or changed: its id, what
// happened to it (matched, read, created, updated, unchanged, deleted) and,
// for matches, the grade.
type Patient struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Grade  string `json:"grade,omitempty"`
}

// Entry is one audit record. Only the fields below exist: there is nowhere
// to put demographics.
type Entry struct {
	Time     time.Time `json:"time"`
	Seq      uint64    `json:"seq"`
	Protocol string    `json:"protocol"` // "http" or "grpc"
	// Operation is e.g. "POST /fhir/Patient/$match", "GET /fhir/Patient/{id}"
	// or "/patientmatch.v1.PatientMatch/Match"; path ids are templated.
	Operation string `json:"op"`
	// Outcome is "ok", "denied", "invalid", "not_found", "unavailable" or
	// "error"; Status is the HTTP status or the gRPC code name.
	Outcome  string    `json:"outcome"`
	Status   string    `json:"status"`
	Client   Client    `json:"client"`
	Patients []Patient `json:"patients"`
	// Truncated is set when the request touched more patients than one
	// record lists (MaxPatients); the count is still exact.
	Truncated bool `json:"truncated,omitempty"`
	Count     int  `json:"count"`
}

// line is Entry as written: Prev and the hash are the chain.
type line struct {
	Time      time.Time `json:"time"`
	Seq       uint64    `json:"seq"`
	Protocol  string    `json:"protocol"`
	Operation string    `json:"op"`
	Outcome   string    `json:"outcome"`
	Status    string    `json:"status"`
	Client    Client    `json:"client"`
	Patients  []Patient `json:"patients"`
	Count     int       `json:"count"`
	Truncated bool      `json:"truncated,omitempty"`
	Prev      string    `json:"prev"`
}

// hashField is how every line ends; Verify relies on it.
const hashField = `,"hash":"`

// Options configure a Log. The zero value is usable.
type Options struct {
	// SyncEvery is how many records may be written before an fsync.
	// Default 256.
	SyncEvery int
	// SyncInterval is the longest a written record waits for its fsync.
	// Default 200 ms.
	SyncInterval time.Duration
	// Logger receives write failures. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Log appends hash-chained records to a file. It is safe for concurrent
// use; Close it to flush and fsync the tail.
type Log struct {
	opts Options
	f    *os.File

	mu       sync.Mutex
	w        *bufio.Writer
	prev     string
	seq      uint64
	unsynced int
	closed   bool
	err      error // first write error, sticky

	stop chan struct{}
	done chan struct{}
}

// Open opens (creating if needed, mode 0600) the audit file at path and
// continues its chain from the last line.
func Open(path string, opts Options) (*Log, error) {
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = 256
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	res, err := verify(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: existing trail does not verify, refusing to append to it: %w", path, err)
	}
	if err := endLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	l := &Log{opts: opts, f: f, w: bufio.NewWriterSize(f, 64<<10), prev: res.LastHash, seq: res.LastSeq,
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.syncLoop()
	return l, nil
}

// endLine makes sure f ends with a newline, so that the next record starts
// a line of its own. A trail whose last record lost its newline (cut right
// after the record, or copied by a tool that drops it) still verifies, and
// a record appended straight after it would merge with it into one line
// that does not (found by FuzzVerify).
func endLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	_, err = f.Write([]byte{'\n'}) // O_APPEND: at the end
	return err
}

// Write appends e (its Time, Seq and Prev are set here). An error means the
// record may not be durable; it is also logged.
func (l *Log) Write(e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("audit: log closed")
	}
	if l.err != nil {
		return l.err
	}
	l.seq++
	ln := line{Time: l.opts.Now().UTC(), Seq: l.seq, Protocol: e.Protocol, Operation: e.Operation,
		Outcome: e.Outcome, Status: e.Status, Client: e.Client, Patients: e.Patients,
		Count: e.Count, Truncated: e.Truncated, Prev: l.prev}
	if ln.Patients == nil {
		ln.Patients = []Patient{}
	}
	body, err := json.Marshal(ln)
	if err != nil {
		return l.fail(err)
	}
	sum := chainHash(body)
	out := make([]byte, 0, len(body)+len(hashField)+len(sum)+3)
	out = append(out, body[:len(body)-1]...)
	out = append(out, hashField...)
	out = append(out, sum...)
	out = append(out, '"', '}', '\n')
	if _, err := l.w.Write(out); err != nil {
		return l.fail(err)
	}
	l.prev = sum
	l.unsynced++
	if l.unsynced >= l.opts.SyncEvery {
		return l.syncLocked()
	}
	return nil
}

// chainHash is the hex SHA-256 of a line without its hash field (which
// includes "prev", so each hash covers the whole chain before it).
func chainHash(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

func (l *Log) fail(err error) error {
	l.err = fmt.Errorf("audit: write: %w", err)
	l.opts.Logger.Error("audit: write failed; records may be lost", "error", err)
	return l.err
}

// syncLocked flushes and fsyncs; l.mu is held.
func (l *Log) syncLocked() error {
	if l.unsynced == 0 {
		return nil
	}
	if err := l.w.Flush(); err != nil {
		return l.fail(err)
	}
	if err := l.f.Sync(); err != nil {
		return l.fail(err)
	}
	l.unsynced = 0
	return nil
}

func (l *Log) syncLoop() {
	defer close(l.done)
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			_ = l.syncLocked()
			l.mu.Unlock()
		}
	}
}

// Sync flushes and fsyncs what has been written.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	return l.syncLocked()
}

// Close flushes, fsyncs and closes the file. It is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.err == nil {
		err = l.syncLocked()
	}
	return errors.Join(err, l.f.Close())
}

// Result is what Verify found.
type Result struct {
	Records  int
	LastSeq  uint64
	LastHash string
}

// Verify checks the chain of the trail in r: every line well formed, its
// hash right, its prev the hash of the line before and its seq one more.
// The error names the first line that fails.
func Verify(r io.Reader) (Result, error) { return verify(r) }

func verify(r io.Reader) (Result, error) {
	var res Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		i := bytes.LastIndex(b, []byte(hashField))
		if i < 0 || len(b) < i+len(hashField)+2 || !bytes.HasSuffix(b, []byte(`"}`)) {
			return res, fmt.Errorf("line %d: no hash field", n)
		}
		body := append(append([]byte{}, b[:i]...), '}')
		got := string(b[i+len(hashField) : len(b)-2])
		if want := chainHash(body); got != want {
			return res, fmt.Errorf("line %d: hash does not match its content (edited)", n)
		}
		var ln line
		if err := json.Unmarshal(body, &ln); err != nil {
			return res, fmt.Errorf("line %d: %w", n, err)
		}
		if ln.Prev != res.LastHash {
			return res, fmt.Errorf("line %d: prev does not match the line before (lines removed, inserted or reordered)", n)
		}
		if ln.Seq != res.LastSeq+1 {
			return res, fmt.Errorf("line %d: seq %d follows %d", n, ln.Seq, res.LastSeq)
		}
		res.Records, res.LastSeq, res.LastHash = n, ln.Seq, got
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("line %d: %w", n+1, err)
	}
	return res, nil
}
