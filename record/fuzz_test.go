package record

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// rawOf turns a normalized record back into raw input, to check that
// normalizing normalized values changes nothing.
func rawOf(r Record) Raw {
	raw := Raw{
		Family:    r.Family,
		BirthDate: r.BirthDate.Text,
		Sex:       r.Sex.String(),
		City:      r.Address.City, State: r.Address.State,
		PostalCode: r.Address.PostalCode, Country: r.Address.Country,
		Phone: r.Phone, Email: r.Email,
	}
	if r.Given != "" {
		raw.Given = append([]string{r.Given}, strings.Fields(r.Middle)...)
	}
	if r.Suffix != "" {
		raw.Suffix = []string{r.Suffix}
	}
	a := r.Address
	if line := strings.TrimSpace(strings.Join([]string{a.Number, a.Street, a.StreetType}, " ")); line != "" {
		raw.AddressLines = append(raw.AddressLines, line)
	}
	if a.Unit != "" {
		raw.AddressLines = append(raw.AddressLines, "unit "+a.Unit)
	}
	for _, id := range r.Identifiers {
		raw.Identifiers = append(raw.Identifiers, RawIdentifier{System: id.System, TypeCode: id.Type.String(), Value: id.Value})
	}
	return raw
}

// checkFolded fails unless s is lower-case ASCII letters, digits and the
// characters in extra.
func checkFolded(t *testing.T, field, s, extra string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune(extra, rune(c)) {
			t.Fatalf("%s = %q: byte %q is not folded", field, s, c)
		}
	}
}

func checkRecordFolded(t *testing.T, r Record) {
	t.Helper()
	for f, v := range map[string]string{
		"family": r.Family, "given": r.Given, "middle": r.Middle, "suffix": r.Suffix,
		"number": r.Address.Number, "street": r.Address.Street, "street_type": r.Address.StreetType,
		"unit": r.Address.Unit, "city": r.Address.City, "state": r.Address.State, "country": r.Address.Country,
	} {
		checkFolded(t, f, v, " ")
		if strings.HasPrefix(v, " ") || strings.HasSuffix(v, " ") || strings.Contains(v, "  ") {
			t.Fatalf("%s = %q: stray spaces", f, v)
		}
	}
	for _, p := range r.FamilyParts {
		checkFolded(t, "family part", p, " ")
	}
	checkFolded(t, "postal_code", r.Address.PostalCode, "")
	checkFolded(t, "phone", strings.TrimPrefix(r.Phone, "+"), "")
	for i := 0; i < len(r.Email); i++ {
		if c := r.Email[i]; c <= ' ' || c >= 0x7f || ('A' <= c && c <= 'Z') {
			t.Fatalf("email %q: byte %q", r.Email, c)
		}
	}
	for _, id := range r.Identifiers {
		if strings.ToUpper(alnumLower(id.Value)) != id.Value || id.Value == "" {
			t.Fatalf("identifier value %q not upper-case alnum", id.Value)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("O'Brien-Smith", "Mary Ann", "", "Jr", "1985-02-30", "F", "4/12 Dolling Cres, Clifden", "", "Springfield", "62701-1234", "(803) 878-0820", " A@B.com", "SS", "219-09-9999")
	f.Add("", "", "Dr John A Smith III", "", "19850203", "male", "", "12 Main St Apt 4 Springfield IL 62701", "", "", "+44 20 7946 0958", "unknown@x.org", "MR", "mr-0042")
	f.Add("García y López", "José", "", "", "1900-01-01", "", "Flat 2, 10 Downing Street", "", "Saint Louis", "SW1A 2AA", "0772 711677", "", "PPN", "x1234567")
	f.Add("van der Berg", "Jan", "Smith, John", "2nd", "1985-13", "o", "12-14 North Main Street NW", "", "", "", "1-800-555-1212", "mailto:x@y.z", "NI", "AB 12 34 56 C")
	f.Add("Иванов", "Пётр", "", "", "03/02/1985", "u", "Hauptstraße 5", "", "München", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, family, given, text, suffix, birth, sex, line, addrText, city, postal, phone, email, idType, idValue string) {
		raw := Raw{
			Family: family, Given: strings.Split(given, ","), Text: text, Suffix: []string{suffix},
			BirthDate: birth, Sex: sex, AddressLines: strings.Split(line, "|"), AddressText: addrText,
			City: city, State: city, PostalCode: postal, Country: city, Phone: phone, Email: email,
			Identifiers: []RawIdentifier{{TypeCode: idType, Value: idValue, System: family}},
		}
		r := Normalize("id", raw)
		checkRecordFolded(t, r)
		again := Normalize("id", rawOf(r))
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("normalizing normalized values changed them:\n first %+v\nsecond %+v", r, again)
		}
	})
}

func FuzzDecodePatient(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"a","name":[{"family":"Smith","given":["J"]}],"birthDate":"1985-02-30","gender":"male"}`))
	f.Add([]byte(`{"resourceType":"Observation"}`))
	f.Add([]byte(`[{"resourceType":"Patient"}]`))
	f.Add([]byte(`{"resourceType":"Patient","telecom":[{"system":"phone","value":"555","rank":-1}],"address":[{"line":["#1 / -"]}]}`))
	f.Add([]byte(`{"resourceType":"Patient","identifier":[{"type":{"coding":[{"code":"SS"}]},"value":"1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePatient(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || p != nil {
				t.Fatalf("error %v does not wrap ErrInvalid (patient %v)", err, p)
			}
			return
		}
		r := FromFHIR(p)
		checkRecordFolded(t, r)
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal decoded patient: %v", err)
		}
		p2, err := DecodePatient(js)
		if err != nil {
			t.Fatalf("re-decode %s: %v", js, err)
		}
		if r2 := FromFHIR(p2); !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
	})
}

func FuzzNDJSONReader(f *testing.F) {
	f.Add([]byte("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n{\"resourceType\":\"Patient\"}\r\nnope\n"))
	f.Add([]byte("\ufeff{\"resourceType\":\"Patient\"}"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("\x1f\x8b")) // gzip's magic and nothing more
	f.Fuzz(func(t *testing.T, data []byte) {
		// Input starting with gzip's magic is decompressed: a corrupt
		// stream is refused as invalid input (ErrInvalid), never an I/O
		// error or a panic; a good one is read as its content.
		content, gzErr := gunzipped(data)
		r, err := NewReader(strings.NewReader(string(data)), FormatNDJSON, ReaderOptions{})
		if err != nil {
			if gzErr != nil && errors.Is(err, ErrInvalid) {
				return
			}
			t.Fatal(err)
		}
		lines := strings.Count(string(content), "\n") + 1
		last := 0
		for {
			it, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if gzErr != nil && errors.Is(err, ErrInvalid) {
					return
				}
				t.Fatalf("Next: %v", err)
			}
			if it.Line <= last || it.Line > lines {
				t.Fatalf("line %d after %d (of %d)", it.Line, last, lines)
			}
			last = it.Line
			if (it.Err == nil) == (it.Patient == nil) {
				t.Fatalf("item with err %v and patient %v", it.Err, it.Patient)
			}
			if it.Err == nil {
				if _, err := DecodePatient(it.JSON); err != nil {
					t.Fatalf("item JSON does not decode: %v", err)
				}
			}
		}
	})
}

func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("id,family,given,birth_date,sex\na,Smith,John,1985-02-30,m\n,x,y,,\nb,\"Jo\nnes\",A,1985,f\n"))
	f.Add([]byte("ID,SSN,MRN,mrn_system\n1,219-09-9999,42,urn:x\n"))
	f.Add([]byte("family\nx\n"))
	f.Add([]byte("id,\"a\n"))
	f.Add([]byte("id;family;birth_date;sex\na;Smith;16.03.1980;k\nb;Jones;03/16/1980;f\n"))
	f.Add([]byte("last_name\tdob\tid\nx\t19800316\t1\n"))
	f.Add(gzipped("id,family\na,Smith\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(strings.NewReader(string(data)), FormatCSV, ReaderOptions{DateOrder: DateOrder(len(data) % 3)})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("NewReader error %v does not wrap ErrInvalid", err)
			}
			return
		}
		last := 0
		for n := 0; ; n++ {
			it, err := r.Next()
			if err == io.EOF || errors.Is(err, ErrInvalid) {
				break // the end, or a corrupt gzip stream
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if it.Line <= last {
				t.Fatalf("line %d after %d", it.Line, last)
			}
			last = it.Line
			if it.Err != nil {
				continue
			}
			p, err := DecodePatient(it.JSON)
			if err != nil || p.Id == nil || *p.Id == "" {
				t.Fatalf("item JSON %s: %v", it.JSON, err)
			}
			checkRecordFolded(t, FromFHIR(p))
		}
	})
}

// gunzipped is data decompressed when it starts with gzip's magic (with the
// error of a corrupt stream), else data itself.
func gunzipped(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
