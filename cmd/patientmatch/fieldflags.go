package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/patientmatch/patientmatch/record"
)

// fieldFlags are the flags for files from the field that every command
// reading patient files takes: the CSV separator and the order of day and
// month in birth dates.
type fieldFlags struct {
	delimiter *string
	dateOrder *string
}

func addFieldFlags(fs interface {
	String(name, value, usage string) *string
}) fieldFlags {
	return fieldFlags{
		delimiter: fs.String("delimiter", "", `CSV field separator: one character, or "tab" (default: detected from the header among ',', ';' and tab)`),
		dateOrder: fs.String("date-order", "", "read CSV birth dates written NN/NN/YYYY as mdy (03/16/1980) or dmy (16/03/1980); without it they are reported as unreadable"),
	}
}

// resolve checks the flags; errors are usage errors.
func (f fieldFlags) resolve() (delim rune, order record.DateOrder, err error) {
	if delim, err = parseDelimiter(*f.delimiter); err != nil {
		return 0, 0, usageErrorf("%v", err)
	}
	if order, err = record.ParseDateOrder(*f.dateOrder); err != nil {
		return 0, 0, usageErrorf("--date-order: %v", err)
	}
	return delim, order, nil
}

// parseDelimiter reads --delimiter: "" (detect), one character, or a name
// for the ones a shell makes awkward (tab, semicolon, comma, pipe).
func parseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "tab", `\t`:
		return '\t', nil
	case "semicolon":
		return ';', nil
	case "comma":
		return ',', nil
	case "pipe":
		return '|', nil
	}
	r, n := utf8.DecodeRuneInString(s)
	if n != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf(`--delimiter %q: want one character other than a quote or newline, or "tab"`, s)
	}
	return r, nil
}

// unreadableError is the --strict error for a record with a value that
// cannot be read.
func unreadableError(vs []record.UnreadableValue) error {
	v := vs[0]
	return fmt.Errorf("%s %q cannot be read: %s", v.Column, v.Value, v.Reason)
}
