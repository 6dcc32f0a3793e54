package docstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ellipsis marks what a README leaves out: a key "…" in an object (more
// keys), a last array element "…" (more elements), a string "…" (any
// value) or a string ending in "…" (a prefix).
const ellipsis = "…"

// decodeJSON decodes s with numbers kept exact.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// sameShape checks that got has what the README documents in want: every
// documented key with the same value (objects may hold more), arrays of
// the documented length (unless the last element is "…"), equal scalars.
func sameShape(want, got any, path string) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: documented an object, got %s", path, brief(got))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == ellipsis {
				continue
			}
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: documented key %q is missing", path, k)
			}
			if err := sameShape(w[k], gv, path+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: documented an array, got %s", path, brief(got))
		}
		n := len(w)
		open := n > 0 && w[n-1] == ellipsis
		if open {
			n--
		}
		if len(g) < n || (!open && len(g) != n) {
			return fmt.Errorf("%s: documented %d elements, got %d", path, len(w), len(g))
		}
		for i := range n {
			if err := sameShape(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case string:
		g, ok := got.(string)
		switch {
		case w == ellipsis:
			return nil
		case !ok:
			return fmt.Errorf("%s: documented %q, got %s", path, w, brief(got))
		case strings.HasSuffix(w, ellipsis) && strings.HasPrefix(g, strings.TrimSuffix(w, ellipsis)):
			return nil
		case g != w:
			return fmt.Errorf("%s: documented %q, got %q", path, w, g)
		}
		return nil
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Errorf("%s: documented %s, got %s", path, w, brief(got))
		}
		wf, _ := w.Float64()
		gf, _ := g.Float64()
		if wf != gf {
			return fmt.Errorf("%s: documented %s, got %s", path, w, g)
		}
		return nil
	default:
		if want != got {
			return fmt.Errorf("%s: documented %v, got %v", path, want, got)
		}
		return nil
	}
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		b = append(b[:120], "…"...)
	}
	return string(b)
}

// httpAnswer is curl -i output: status line, headers, body.
type httpAnswer struct {
	status  string
	headers map[string]string
	body    string
}

// parseHTTP splits curl -i output (or a documented transcript of it).
func parseHTTP(s string) (httpAnswer, bool) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.HasPrefix(s, "HTTP/") {
		return httpAnswer{}, false
	}
	head, body, _ := strings.Cut(s, "\n\n")
	lines := strings.Split(head, "\n")
	a := httpAnswer{status: lines[0], headers: map[string]string{}, body: strings.TrimSpace(body)}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			a.body = strings.TrimSpace(l + "\n" + a.body) // a "…" line ends the headers
			continue
		}
		a.headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return a, true
}

// checkAnswer compares a command's output with its documented answer.
func checkAnswer(want, got string) error {
	if wa, ok := parseHTTP(want); ok {
		ga, ok := parseHTTP(got)
		if !ok {
			return fmt.Errorf("documented an HTTP answer, got %.200q", got)
		}
		if statusCode(wa.status) != statusCode(ga.status) {
			return fmt.Errorf("status: documented %q, got %q", wa.status, ga.status)
		}
		for k, v := range wa.headers {
			if k == "date" || k == "content-length" {
				continue
			}
			if gv, ok := ga.headers[k]; !ok || (gv != v && !(strings.HasSuffix(v, ellipsis) && strings.HasPrefix(gv, strings.TrimSuffix(v, ellipsis)))) {
				return fmt.Errorf("header %s: documented %q, got %q", k, v, gv)
			}
		}
		want, got = wa.body, ga.body
		if want == ellipsis || want == "" {
			return nil
		}
	}
	if wv, err := decodeJSON(want); err == nil {
		gvs := decodeAllJSON(got)
		if len(gvs) == 0 {
			return fmt.Errorf("documented JSON, got %.300q", got)
		}
		// A stream answers several JSON messages: one must be the documented.
		var first error
		for _, gv := range gvs {
			err := sameShape(wv, gv, "$")
			if err == nil {
				return nil
			}
			if first == nil {
				first = err
			}
		}
		return first
	}
	return sameText(want, got)
}

// decodeAllJSON decodes the JSON values of s, one after another.
func decodeAllJSON(s string) []any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			return out
		}
		out = append(out, v)
	}
}

func statusCode(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	return f[1]
}

// sameText checks documented text lines: each must appear in the output
// (white space ignored); "…" or "..." in a line stands for anything, so the
// parts between ellipses must appear in that order.
func sameText(want, got string) error {
	out := squash(got)
	for _, l := range strings.Split(want, "\n") {
		l = strings.ReplaceAll(l, "...", ellipsis)
		pos := 0
		for _, part := range strings.Split(l, ellipsis) {
			p := squash(part)
			if len(p) == 0 {
				continue
			}
			i := bytes.Index(out[pos:], p)
			if i < 0 {
				return fmt.Errorf("documented %q (of line %q) is not in the output:\n%s", p, strings.TrimSpace(l), got)
			}
			pos += i + len(p)
		}
	}
	return nil
}

// squash drops white space, so layout differences (grpcurl indents with
// tabs, JSON with or without spaces) do not count.
func squash(s string) []byte {
	return []byte(strings.Join(strings.Fields(s), ""))
}
