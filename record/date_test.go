package record

import "testing"

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		y, m, d int
		valid   bool
	}{
		{"1985-02-03", 1985, 2, 3, true},
		{" 1985-02-03 ", 1985, 2, 3, true},
		{"19850203", 1985, 2, 3, true},
		{"1985-2-3", 1985, 2, 3, true},
		{"1985/02/03", 1985, 2, 3, true},
		{"1985.02.03", 1985, 2, 3, true},
		{"1985-02", 1985, 2, 0, true},
		{"1985", 1985, 0, 0, true},
		{"2000-02-29", 2000, 2, 29, true},
		{"1900-02-29", 1900, 2, 29, false},
		{"1985-02-30", 1985, 2, 30, false},
		{"1985-13-01", 1985, 13, 1, false},
		{"1985-00-10", 1985, 0, 10, false},
		{"1985-13", 1985, 13, 0, false},
		{"0000", 0, 0, 0, false},
		{"1985-02-03T12:00:00+01:00", 1985, 2, 3, true},
		{"1900-01-01", 0, 0, 0, false}, // placeholder
		{"1900-01-02", 1900, 1, 2, true},
		{"", 0, 0, 0, false},
		{"03/02/1985", 0, 0, 0, false},
		{"85-02-03", 0, 0, 0, false},
		{"1985-02/03", 0, 0, 0, false},
		{"1985-", 0, 0, 0, false},
		{"1985-02-03-04", 0, 0, 0, false},
		{"198502031", 0, 0, 0, false},
		{"1985-123-01", 0, 0, 0, false},
		{"unknown", 0, 0, 0, false},
		{"Feb 3 1985", 0, 0, 0, false},
	}
	for _, tt := range tests {
		got := ParseDate(tt.in)
		if got.Year != tt.y || got.Month != tt.m || got.Day != tt.d || got.Valid != tt.valid {
			t.Errorf("ParseDate(%q) = %d-%d-%d valid=%v, want %d-%d-%d valid=%v",
				tt.in, got.Year, got.Month, got.Day, got.Valid, tt.y, tt.m, tt.d, tt.valid)
		}
		if want := trimSpace(tt.in); got.Text != want {
			t.Errorf("ParseDate(%q).Text = %q, want %q", tt.in, got.Text, want)
		}
		if again := ParseDate(got.Text); again != got {
			t.Errorf("ParseDate(%q) not stable: %+v then %+v", tt.in, got, again)
		}
		if tt.in != "" && got.IsZero() {
			t.Errorf("ParseDate(%q) IsZero, want the text kept", tt.in)
		}
	}
}

func trimSpace(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1985-02-03", "19850203", "1985-02", "1985", "1985-02-30", "1900-01-01", "03/02/1985", "1985-02-03T00:00Z", "", "９９９９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseDate(s)
		if again := ParseDate(d.Text); again != d {
			t.Fatalf("not stable: %q → %+v → %+v", s, d, again)
		}
		if d.Valid && (d.Year < 1 || d.Month > 12 || d.Day > 31) {
			t.Fatalf("%q valid but %+v", s, d)
		}
		if d.Year > 9999 || d.Month > 99 || d.Day > 99 || d.Year < 0 || d.Month < 0 || d.Day < 0 {
			t.Fatalf("%q: out of range digits %+v", s, d)
		}
		if d.Valid && d.Day > 0 && d.Day > daysIn(d.Year, d.Month) {
			t.Fatalf("%q: valid but not on the calendar %+v", s, d)
		}
	})
}
