package docstest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/patientmatch/patientmatch/internal/modroot"
	"github.com/patientmatch/patientmatch/internal/syncbuf"
)

// notRun lists the documented commands the test does not run, each with
// the reason; every other command in a README must run and give its
// documented answer. An entry no README uses any more fails the test.
var notRun = map[string]string{
	"make run":  "the test does what make run does: builds the binary, loads testdata/demo into a data folder and serves it (on free loopback ports)",
	"make test": "this test runs inside make test",
	"go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3": "needs the network; when grpcurl is not installed the test answers grpcurl command lines with internal/grpcurlshim",
	"make proto":       "regenerates the committed gRPC code (needs protoc)",
	"make proto-check": "needs protoc; the generated code is checked by make proto-check itself",
	"patientmatch serve --data n1 --http 127.0.0.1:8081 --grpc 127.0.0.1:9091 --cluster-embed 127.0.0.1:4222":     "starts long-running cluster-mode servers on fixed ports; cmd/patientmatch TestServeClusterE2E starts two cluster-mode servers and runs cluster status and retune against them",
	"patientmatch serve --data n2 --http 127.0.0.1:8082 --grpc 127.0.0.1:9092 --cluster nats://127.0.0.1:4222":    "starts long-running cluster-mode servers on fixed ports; cmd/patientmatch TestServeClusterE2E starts two cluster-mode servers and runs cluster status and retune against them",
	"patientmatch generate --n 3000 --seed 1 --out testdata/demo/patients.ndjson --truth testdata/demo/truth.csv": "would rewrite the committed demo files; synth's TestDemoUpToDate checks that it reproduces them byte for byte",
}

// Addresses the READMEs use for the server make run starts.
const (
	docHTTP = "127.0.0.1:8080"
	docHost = "localhost:8080"
	docGRPC = "127.0.0.1:9090"
)

// idpIssuer is the OpenID provider the test server trusts for the
// id_token examples; ID_TOKEN holds a token it signed for a demo patient.
const idpIssuer = "https://idp.docs.test"

// TestREADMEExamples runs every shell example of every README.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and serves the demo data; not in -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed; .ci/run installs it")
	}
	root := modroot.Dir(t)
	h := newHarness(t, root)
	used := map[string]bool{}
	counts := map[string]int{}
	for _, file := range readmes(t, root) {
		doc, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range examples(file, string(doc)) {
			name := fmt.Sprintf("%s:%d", file, ex.line)
			if reason, ok := notRun[withoutComments(ex.cmd)]; ok {
				used[withoutComments(ex.cmd)] = true
				counts["not run"]++
				t.Logf("%s: not run (%s): %s", name, reason, ex.cmd)
				continue
			}
			kind := h.classify(ex)
			counts[kind]++
			t.Run(name, func(t *testing.T) { h.check(t, kind, ex) })
		}
	}
	for cmd := range notRun {
		if !used[cmd] {
			t.Errorf("notRun lists %q, which no README shows any more", cmd)
		}
	}
	t.Logf("README examples: %v (grpcurl lines answered by internal/grpcurlshim: %v)", counts, h.grpcurlIsShim)
	if counts["run"] == 0 {
		t.Fatal("no README example was run")
	}
}

// withoutComments is cmd without shell comments and with single spaces,
// the form notRun lists commands in.
func withoutComments(cmd string) string {
	var words []string
	for _, l := range strings.Split(cmd, "\n") {
		if i := strings.Index(l, " #"); i >= 0 && !strings.ContainsAny(l[:i], `'"`) {
			l = l[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		words = append(words, strings.Fields(l)...)
	}
	return strings.Join(words, " ")
}

// harness is the server the examples run against and the tools they use.
type harness struct {
	root, tools, bin   string
	httpAddr, grpcAddr string
	env                []string
	serverLog          *syncBuffer
	grpcurlIsShim      bool
	synopsisRE         *regexp.Regexp
}

// syncBuffer collects the server's log.
type syncBuffer = syncbuf.Buffer

func newHarness(t *testing.T, root string) *harness {
	h := &harness{root: root, tools: t.TempDir(), serverLog: &syncBuffer{},
		synopsisRE: regexp.MustCompile(`\[|\.\.\.|\b[A-Z]{2,}[A-Z_]*\b`)}
	h.bin = filepath.Join(h.tools, "patientmatch")
	goBuild(t, root, h.bin, "./cmd/patientmatch")
	if _, err := exec.LookPath("grpcurl"); err != nil {
		goBuild(t, root, filepath.Join(h.tools, "grpcurl"), "./internal/grpcurlshim")
		h.grpcurlIsShim = true
	}
	data := t.TempDir()
	out, err := exec.Command(h.bin, "load", "--progress=false", "--data", data, filepath.Join(root, "testdata/demo/patients.ndjson")).CombinedOutput()
	if err != nil {
		t.Fatalf("load demo: %v\n%s", err, out)
	}
	jwks, token := idp(t, h.tools)
	h.httpAddr, h.grpcAddr = freeAddr(t), freeAddr(t)
	h.env = append(os.Environ(), "PATH="+h.tools+string(os.PathListSeparator)+os.Getenv("PATH"), "ID_TOKEN="+token)
	h.startServer(t, data, jwks)
	return h
}

// startServer runs patientmatch serve and waits until it is ready.
func (h *harness) startServer(t *testing.T, data, jwks string) {
	cmd := exec.Command(h.bin, "serve", "--data", data, "--http", h.httpAddr, "--grpc", h.grpcAddr,
		"--trust-issuer", idpIssuer+"="+jwks, "--id-token-audience", "patientmatch")
	cmd.Stdout, cmd.Stderr = h.serverLog, h.serverLog
	// The server dies with the test binary, even when a timeout panics it
	// before the cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("the server did not stop within 30s of SIGINT")
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + h.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the server exited: %v\n%s", err, h.serverLog.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server was not ready within 2 minutes:\n%s", h.serverLog.String())
		}
	}
}

// classify says how an example is checked: "run" or "synopsis" (a usage
// line of the CLI, checked against the command's --help).
func (h *harness) classify(ex example) string {
	word, _, _ := strings.Cut(ex.cmd, " ")
	if word == "patientmatch" && h.synopsisRE.MatchString(strings.SplitN(ex.cmd, "#", 2)[0]) {
		return "synopsis"
	}
	return "run"
}

// check runs one example and compares it with its documented answer.
func (h *harness) check(t *testing.T, kind string, ex example) {
	word, _, _ := strings.Cut(ex.cmd, " ")
	if !slices.Contains(commandWords, word) {
		t.Fatalf("unknown command %q: run it here or list it in notRun with a reason", word)
	}
	if kind == "synopsis" {
		h.checkSynopsis(t, ex)
		return
	}
	stdout, stderr, err := h.run(t, ex.cmd)
	got := stdout
	if ex.transcript && strings.HasPrefix(ex.want, "ERROR:") {
		got = stdout + stderr
	}
	if ex.want == "" {
		if err != nil {
			t.Fatalf("%s\nfailed: %v\nstdout: %s\nstderr: %s", ex.cmd, err, stdout, stderr)
		}
		if msg := failureIn(stdout); msg != "" {
			t.Fatalf("%s\nanswered a failure (%s):\n%s", ex.cmd, msg, stdout)
		}
		return
	}
	if err != nil && !strings.HasPrefix(ex.want, "ERROR:") {
		t.Fatalf("%s\nfailed: %v\nstdout: %s\nstderr: %s", ex.cmd, err, stdout, stderr)
	}
	if err := checkAnswer(ex.want, got); err != nil {
		t.Fatalf("%s\nthe answer differs from the README: %v\ngot:\n%s", ex.cmd, err, got)
	}
}

// run runs cmd with bash in the repository root, the README's addresses
// replaced by the test server's, and maps them back in the output.
func (h *harness) run(t *testing.T, cmd string) (string, string, error) {
	hostPort := strings.TrimPrefix(h.httpAddr, "127.0.0.1:")
	r := strings.NewReplacer(docHTTP, h.httpAddr, docHost, "localhost:"+hostPort, docGRPC, h.grpcAddr)
	back := strings.NewReplacer(h.httpAddr, docHTTP, "localhost:"+hostPort, docHost, h.grpcAddr, docGRPC)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", r.Replace(cmd))
	c.Dir, c.Env = h.root, h.env
	// bash and what it starts form a process group, killed as a whole on
	// timeout and when the test binary dies.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	return back.Replace(stdout.String()), back.Replace(stderr.String()), err
}

// failureIn names the failure an undocumented answer reports, if any: an
// error OperationOutcome, a JSON error, an HTTP 4xx/5xx or a gRPC error.
func failureIn(out string) string {
	if a, ok := parseHTTP(out); ok {
		if code := statusCode(a.status); code >= "400" {
			return "HTTP " + code
		}
		out = a.body
	}
	if strings.HasPrefix(out, "ERROR:") {
		return "gRPC error"
	}
	var v struct {
		ResourceType string `json:"resourceType"`
		Error        string `json:"error"`
	}
	if json.Unmarshal([]byte(out), &v) == nil {
		if v.ResourceType == "OperationOutcome" {
			return "OperationOutcome"
		}
		if v.Error != "" {
			return "error " + v.Error
		}
	}
	return ""
}

// checkSynopsis checks a CLI usage line: the command exists and its
// --help lists every flag the line shows.
func (h *harness) checkSynopsis(t *testing.T, ex example) {
	line := strings.SplitN(ex.cmd, "#", 2)[0]
	words := strings.Fields(line)
	if len(words) < 2 {
		t.Fatalf("synopsis %q names no command", line)
	}
	args := []string{words[1], "--help"}
	if words[1] == "bench" && len(words) > 2 {
		args = []string{"bench", words[2], "--help"}
	}
	out, err := exec.Command(h.bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("patientmatch %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, f := range regexp.MustCompile(`--[a-z][a-z0-9-]*`).FindAllString(line, -1) {
		if !strings.Contains(string(out), "-"+strings.TrimPrefix(f, "--")) {
			t.Errorf("the README shows %s for patientmatch %s, which its --help does not list:\n%s", f, words[1], out)
		}
	}
}

// readmes lists the README files, the top-level one first and the fhir
// one before the gRPC one (both use patient p1).
func readmes(t *testing.T, root string) []string {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "README.md" {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first := []string{"README.md", "fhir/README.md", "claims/README.md"}
	slices.SortFunc(files, func(a, b string) int {
		ia, ib := slices.Index(first, a), slices.Index(first, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	return files
}

// goBuild builds pkg into out (with VCS stamping where the checkout has it).
func goBuild(t *testing.T, root, out, pkg string) {
	cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// freeAddr is a loopback address with a port the kernel just handed out.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// idp writes the JWKS of a test OpenID provider and returns its path and
// an ID token it signed for a demo patient (Amber Singh).
func idp(t *testing.T, dir string) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "docs", Algorithm: string(jose.ES256), Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "docs"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": idpIssuer, "sub": "docs-user-1", "aud": "patientmatch",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"given_name": "Amber", "family_name": "Singh", "birthdate": "1980-03-16",
		"email": "singha607@gmail.com", "email_verified": true,
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return path, tok
}
