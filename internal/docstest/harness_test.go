package docstest

import (
	"strings"
	"testing"
)

// The extractor and the comparison are tested on their own, so that a
// README example that stops being checked fails here and not silently.

func TestExamplesExtracted(t *testing.T) {
	doc := "# T\n\n```sh\nmake run   # comment\ncurl -s -X POST x -d '{\n  \"a\": 1\n}'\n```\n\nprose\n\n```json\n{\"a\": 1}\n```\n\n" +
		"```\n$ curl -si x \\\n    -H 'y: z'\nHTTP/1.1 200 OK\nEtag: W/\"1\"\n$ curl -s y\n{\"b\":2}\n```\n\n    grpcurl -plaintext 127.0.0.1:9090 list\n\n"
	exs := examples("T.md", doc)
	var got []string
	for _, e := range exs {
		got = append(got, withoutComments(e.cmd)+" => "+strings.ReplaceAll(e.want, "\n", "|"))
	}
	want := []string{
		"make run => ",
		`curl -s -X POST x -d '{ "a": 1 }' => {"a": 1}`,
		`curl -si x \ -H 'y: z' => HTTP/1.1 200 OK|Etag: W/"1"`,
		`curl -s y => {"b":2}`,
		"grpcurl -plaintext 127.0.0.1:9090 list => ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("examples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckAnswer(t *testing.T) {
	ok := []struct{ want, got string }{
		{`{"a":1,"b":[1,2]}`, `{"a":1,"b":[1,2],"c":3}`},
		{`{"a":"…","b":["x","…"]}`, `{"a":"anything","b":["x","y","z"]}`},
		{`{"u":"http://h/…"}`, `{"u":"http://h/p/1"}`},
		{"HTTP/1.1 201 Created\nEtag: W/\"1\"\n…", "HTTP/1.1 201 Created\r\nEtag: W/\"1\"\r\nDate: x\r\n\r\n{}"},
		{"ERROR:\n  Code: InvalidArgument\n  Message: bad …", "ERROR:\n\tCode: InvalidArgument\n\tMessage: bad count"},
		{`{"b":2}`, "{\"a\":1}\n{\"b\":2}"}, // one of a stream's messages
	}
	for _, c := range ok {
		if err := checkAnswer(c.want, c.got); err != nil {
			t.Errorf("checkAnswer(%q, %q): %v", c.want, c.got, err)
		}
	}
	bad := []struct{ want, got string }{
		{`{"a":1}`, `{"a":2}`},
		{`{"a":1}`, `{"b":1}`},
		{`{"b":[1]}`, `{"b":[1,2]}`},
		{`{"s":1.0}`, `{"s":0.999}`},
		{"HTTP/1.1 201 Created", "HTTP/1.1 415 Unsupported Media Type\r\n\r\n{}"},
		{"HTTP/1.1 201 Created\nEtag: W/\"1\"", "HTTP/1.1 201 Created\r\nEtag: W/\"3\"\r\n\r\n"},
		{"<a>…<b/>", "<b/><a>"},
		{`{"a":1}`, "not json"},
	}
	for _, c := range bad {
		if err := checkAnswer(c.want, c.got); err == nil {
			t.Errorf("checkAnswer(%q, %q) passed", c.want, c.got)
		}
	}
	if failureIn(`{"resourceType":"OperationOutcome","issue":[]}`) == "" || failureIn(`{"error":"invalid_token"}`) == "" ||
		failureIn("HTTP/1.1 415 X\r\n\r\n") == "" || failureIn(`{"resourceType":"Bundle"}`) != "" {
		t.Error("failureIn misjudges an answer")
	}
}
