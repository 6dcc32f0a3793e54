package docstest

import (
	"regexp"
	"strings"
)

// block is a code block of a Markdown file.
type block struct {
	lang  string // info string of a fence; "indented" for an indented block
	line  int    // 1-based line of the first content line
	lines []string
}

// example is one documented shell command and the answer documented for it.
type example struct {
	file string
	line int
	cmd  string
	// want is the documented answer: JSON (from a json block or a
	// transcript's body) or transcript text; "" when none is documented.
	want string
	// transcript is set when want came from "$ command" + output lines.
	transcript bool
}

var fenceRE = regexp.MustCompile("^```\\s*([A-Za-z0-9_+-]*)")

// blocks returns the code blocks of a Markdown document, with headings as
// blocks of lang "#" so that answers are not looked for past them.
func blocks(doc string) []block {
	lines := strings.Split(doc, "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := fenceRE.FindStringSubmatch(l); m != nil {
			b := block{lang: m[1], line: i + 2}
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				b.lines = append(b.lines, lines[i])
			}
			out = append(out, b)
			continue
		}
		if strings.HasPrefix(l, "#") {
			out = append(out, block{lang: "#", line: i + 1})
			continue
		}
		if strings.HasPrefix(l, "    ") && i > 0 && strings.TrimSpace(lines[i-1]) == "" && !inList(lines, i) {
			b := block{lang: "indented", line: i + 1}
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == ""); i++ {
				b.lines = append(b.lines, strings.TrimPrefix(lines[i], "    "))
			}
			i--
			out = append(out, b)
		}
	}
	return out
}

// inList reports whether line i continues a list item (then indentation is
// the item's, not a code block's).
func inList(lines []string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		t := lines[j]
		if strings.TrimSpace(t) == "" {
			continue
		}
		if strings.HasPrefix(t, "    ") {
			continue
		}
		tt := strings.TrimSpace(t)
		return strings.HasPrefix(tt, "- ") || strings.HasPrefix(tt, "* ") || regexp.MustCompile(`^\d+\. `).MatchString(tt)
	}
	return false
}

// commandWords are the first words of the shell commands documented.
var commandWords = []string{"curl", "grpcurl", "patientmatch", "make", "go"}

// isCommandBlock reports whether b holds shell commands.
func isCommandBlock(b block) bool {
	switch b.lang {
	case "sh", "bash", "shell", "console":
		return true
	case "", "indented":
		for _, l := range b.lines {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			t = strings.TrimPrefix(t, "$ ")
			w, _, _ := strings.Cut(t, " ")
			for _, c := range commandWords {
				if w == c {
					return true
				}
			}
			return false
		}
	}
	return false
}

// isTranscript reports whether a command block is "$ command" + output.
func isTranscript(b block) bool {
	for _, l := range b.lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return strings.HasPrefix(t, "$ ")
		}
	}
	return false
}

// examples extracts the shell examples of a Markdown document.
func examples(file, doc string) []example {
	bs := blocks(doc)
	var out []example
	for i, b := range bs {
		if !isCommandBlock(b) {
			continue
		}
		if isTranscript(b) {
			out = append(out, transcriptExamples(file, b)...)
			continue
		}
		cmds := splitCommands(file, b.line, b.lines)
		if len(cmds) == 0 {
			continue
		}
		// A json, xml or text block (or an indented JSON block) right after
		// the commands, before the next heading or code block, documents the
		// last one's answer.
		if i+1 < len(bs) {
			n := bs[i+1]
			if n.lang == "json" || n.lang == "xml" || n.lang == "text" ||
				(n.lang == "indented" && strings.HasPrefix(strings.TrimSpace(strings.Join(n.lines, "\n")), "{")) {
				cmds[len(cmds)-1].want = strings.Join(n.lines, "\n")
			}
		}
		out = append(out, cmds...)
	}
	return out
}

// splitCommands splits shell lines into commands: a command ends at a
// line that closes every quote and does not end with a backslash.
func splitCommands(file string, first int, lines []string) []example {
	var out []example
	var cur []string
	start := 0
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if len(cur) == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if len(cur) == 0 {
			start = first + i
		}
		cur = append(cur, l)
		cmd := strings.Join(cur, "\n")
		if complete(cmd) {
			out = append(out, example{file: file, line: start, cmd: strings.TrimSpace(cmd)})
			cur = nil
		}
	}
	return out
}

// transcriptExamples reads "$ command" lines and the output after them.
func transcriptExamples(file string, b block) []example {
	var out []example
	for i := 0; i < len(b.lines); i++ {
		t := strings.TrimSpace(b.lines[i])
		if !strings.HasPrefix(t, "$ ") {
			continue
		}
		ex := example{file: file, line: b.line + i, transcript: true}
		cmd := []string{strings.TrimPrefix(t, "$ ")}
		for !complete(strings.Join(cmd, "\n")) && i+1 < len(b.lines) {
			i++
			cmd = append(cmd, b.lines[i])
		}
		ex.cmd = strings.TrimSpace(strings.Join(cmd, "\n"))
		var want []string
		for i+1 < len(b.lines) && !strings.HasPrefix(strings.TrimSpace(b.lines[i+1]), "$ ") {
			i++
			want = append(want, b.lines[i])
		}
		ex.want = strings.TrimSpace(strings.Join(want, "\n"))
		out = append(out, ex)
	}
	return out
}

// complete reports whether cmd closes its quotes and has no trailing
// backslash (a simple POSIX shell quote scan).
func complete(cmd string) bool {
	inSingle, inDouble := false, false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case inSingle:
			if c == '\'' {
				inSingle = false
			}
		case c == '\\' && i+1 < len(cmd):
			i++
		case inDouble:
			if c == '"' {
				inDouble = false
			}
		case c == '\'':
			inSingle = true
		case c == '"':
			inDouble = true
		}
	}
	return !inSingle && !inDouble && !strings.HasSuffix(strings.TrimRight(cmd, " \t"), "\\")
}
