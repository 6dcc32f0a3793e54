package claims

import (
	"reflect"
	"testing"

	"github.com/patientmatch/patientmatch/record"
)

func TestToRaw(t *testing.T) {
	yes, no := FlexBool(true), FlexBool(false)
	tests := []struct {
		name string
		c    OIDCClaims
		opts RawOptions
		want record.Raw
	}{
		{
			name: "names",
			c:    OIDCClaims{GivenName: " Mary  Ann ", MiddleName: "Louise", FamilyName: " Garcia Lopez ", Name: "Mary Ann Garcia Lopez"},
			want: record.Raw{Given: []string{"Mary", "Ann", "Louise"}, Family: "Garcia Lopez", Text: "Mary Ann Garcia Lopez"},
		},
		{name: "full birthdate", c: OIDCClaims{Birthdate: "1985-02-03", Gender: "female"}, want: record.Raw{BirthDate: "1985-02-03", Sex: "female"}},
		{name: "year only", c: OIDCClaims{Birthdate: "1985"}, want: record.Raw{BirthDate: "1985"}},
		{name: "year withheld dropped", c: OIDCClaims{Birthdate: "0000-02-03"}, want: record.Raw{}},
		{
			name: "contact with verified flags absent",
			c:    OIDCClaims{Email: "a@b.c", PhoneNumber: "+1 555 0100"},
			want: record.Raw{Email: "a@b.c", Phone: "+1 555 0100"},
		},
		{
			name: "unverified contact dropped",
			c:    OIDCClaims{Email: "a@b.c", EmailVerified: &no, PhoneNumber: "+1 555 0100", PhoneNumberVerified: &no},
			want: record.Raw{},
		},
		{
			name: "verified contact kept",
			c:    OIDCClaims{Email: "a@b.c", EmailVerified: &yes, PhoneNumber: "5550100", PhoneNumberVerified: &yes},
			want: record.Raw{Email: "a@b.c", Phone: "5550100"},
		},
		{
			name: "require verified drops unflagged",
			c:    OIDCClaims{Email: "a@b.c", PhoneNumber: "5550100", PhoneNumberVerified: &yes},
			opts: RawOptions{RequireVerifiedContact: true},
			want: record.Raw{Phone: "5550100"},
		},
		{
			name: "structured address",
			c: OIDCClaims{Address: &AddressClaim{StreetAddress: "12 Main St\r\n Apt 4 \n", Locality: "Springfield", Region: "IL",
				PostalCode: "62701", Country: "US", Formatted: "ignored when parts exist"}},
			want: record.Raw{AddressLines: []string{"12 Main St", "Apt 4"}, City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"},
		},
		{
			name: "formatted address",
			c:    OIDCClaims{Address: &AddressClaim{Formatted: "12 Main St\nSpringfield IL 62701"}},
			want: record.Raw{AddressText: "12 Main St Springfield IL 62701"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToRaw(&tt.c, tt.opts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToRaw =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	if got := ToRaw(nil, RawOptions{}); !reflect.DeepEqual(got, record.Raw{}) {
		t.Errorf("ToRaw(nil) = %+v", got)
	}
}
