package claims

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

type svcEnv struct {
	svc   *Service
	fm    *fakeMatcher
	kit   *tokenKit
	links *LinkStore
	log   *syncBuffer
}

func newSvcEnv(t *testing.T, fm *fakeMatcher, mod func(*Options)) *svcEnv {
	t.Helper()
	kit := newTokenKit(t)
	logger, buf := testLogger()
	links := NewLinkStore(NewMemKV())
	opts := Options{BaseURL: "https://mpi.example.org/", Verifier: kit.verifier, Links: links, Logger: logger}
	if mod != nil {
		mod(&opts)
	}
	svc, err := NewService(fm, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &svcEnv{svc: svc, fm: fm, kit: kit, links: links, log: buf}
}

// ana are the demographics the tests send; the audit log must contain none
// of them.
var ana = map[string]any{
	"given_name": "Anastasia", "family_name": "Quigley-Obrecht", "birthdate": "1985-02-03",
	"email": "ana.quigley@mailbox.test", "email_verified": true, "phone_number": "+1 312 555 0199",
	"address": map[string]any{"street_address": "742 Evergreen Terrace", "locality": "Springfield", "postal_code": "62704"},
	"acr":     "urn:example:loa:3",
}

func anaClaims() *OIDCClaims {
	v := FlexBool(true)
	return &OIDCClaims{GivenName: "Anastasia", FamilyName: "Quigley-Obrecht", Birthdate: "1985-02-03",
		Email: "ana.quigley@mailbox.test", EmailVerified: &v, PhoneNumber: "+1 312 555 0199",
		Address: &AddressClaim{StreetAddress: "742 Evergreen Terrace", Locality: "Springfield", PostalCode: "62704"},
		ACR:     "urn:example:loa:2"}
}

func assertNoDemographics(t *testing.T, log string) {
	t.Helper()
	for _, leak := range []string{"Anastasia", "anastasia", "Quigley", "quigley", "1985", "mailbox.test", "5550199", "Evergreen", "evergreen", "62704"} {
		if strings.Contains(log, leak) {
			t.Errorf("audit log contains demographics %q:\n%s", leak, log)
		}
	}
}

func TestMatchClaimsOnly(t *testing.T) {
	fm := newFakeMatcher(m("p1", certain, 42), m("p2", possible, 12))
	env := newSvcEnv(t, fm, nil)
	resp, err := env.svc.MatchClaims(context.Background(), Request{Claims: anaClaims()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Decision != DecisionMatch || resp.Patient != "Patient/p1" || resp.FHIRUser != "https://mpi.example.org/fhir/Patient/p1" {
		t.Errorf("resp = %+v", resp)
	}
	if resp.Grade != "certain" || resp.Score != fm.matches[0].Probability || resp.ACR != "urn:example:loa:2" {
		t.Errorf("score/grade/acr = %v/%v/%v", resp.Score, resp.Grade, resp.ACR)
	}
	if len(resp.Candidates) != 2 || resp.Candidates[1].Patient != "Patient/p2" || resp.Candidates[1].Grade != "possible" {
		t.Errorf("candidates = %+v", resp.Candidates)
	}
	if fm.lastOpts.Count != 5 || fm.lastOpts.MinGrade != scoring.GradePossible {
		t.Errorf("match options = %+v", fm.lastOpts)
	}
	if fm.last.Given == "" || fm.last.Family == "" || fm.last.Email == "" {
		t.Errorf("record not built from claims: %+v", fm.last)
	}
	if resp.LinkStatus != "" {
		t.Errorf("link status %q without link request", resp.LinkStatus)
	}
	log := env.log.String()
	if !strings.Contains(log, `"decision":"match"`) || !strings.Contains(log, `"patient":"p1"`) || !strings.Contains(log, "loa:2") {
		t.Errorf("audit line incomplete: %s", log)
	}
	assertNoDemographics(t, log)
}

func TestMatchClaimsUnverifiedContactNotUsed(t *testing.T) {
	fm := newFakeMatcher()
	env := newSvcEnv(t, fm, nil)
	c := anaClaims()
	no := FlexBool(false)
	c.EmailVerified, c.PhoneNumberVerified = &no, &no
	if _, err := env.svc.MatchClaims(context.Background(), Request{Claims: c}); err != nil {
		t.Fatal(err)
	}
	if fm.last.Email != "" || fm.last.Phone != "" {
		t.Errorf("unverified contact reached the matcher: email %q phone %q", fm.last.Email, fm.last.Phone)
	}
	if fm.last.Family == "" {
		t.Errorf("name lost: %+v", fm.last)
	}
}

func TestMatchClaimsPartialBirthdate(t *testing.T) {
	fm := newFakeMatcher()
	env := newSvcEnv(t, fm, nil)
	for _, tt := range []struct {
		bd       string
		wantYear int
		wantZero bool
	}{{"1985", 1985, false}, {"0000-02-03", 0, true}, {"1985-02-03", 1985, false}} {
		c := &OIDCClaims{FamilyName: "Lima", Birthdate: tt.bd}
		if _, err := env.svc.MatchClaims(context.Background(), Request{Claims: c}); err != nil {
			t.Fatal(err)
		}
		if fm.last.BirthDate.Year != tt.wantYear || fm.last.BirthDate.IsZero() != tt.wantZero {
			t.Errorf("birthdate %q → %+v", tt.bd, fm.last.BirthDate)
		}
	}
	// A year-withheld birth date alone is nothing to match on.
	_, err := env.svc.MatchClaims(context.Background(), Request{Claims: &OIDCClaims{Birthdate: "0000-02-03"}})
	if !errors.Is(err, ErrNoDemographics) || !errors.Is(err, ErrBadRequest) {
		t.Errorf("err = %v, want ErrNoDemographics", err)
	}
}

func TestMatchClaimsTwinsNeverMatch(t *testing.T) {
	for name, ms := range map[string][]matcher.Match{
		"two certain":                {m("t1", certain, 45), m("t2", certain, 44)},
		"certain + probable close":   {m("t1", certain, 45), m("t2", probable, 41)},
		"certain + possible close":   {m("t1", certain, 30), m("t2", possible, 25)},
		"two certain, reverse order": {m("t2", certain, 44), m("t1", certain, 45)},
	} {
		t.Run(name, func(t *testing.T) {
			env := newSvcEnv(t, newFakeMatcher(ms...), nil)
			tok := env.kit.idToken(t, env.kit.key, "twin", ana)
			resp, err := env.svc.MatchClaims(context.Background(), Request{IDToken: tok, Link: true})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Decision != DecisionAmbiguous || resp.Patient != "" || resp.FHIRUser != "" {
				t.Errorf("resp = %+v", resp)
			}
			if resp.LinkStatus != LinkNotLinked {
				t.Errorf("link status = %q", resp.LinkStatus)
			}
			if len(resp.Candidates) != 2 || resp.Candidates[0].Patient != "Patient/t1" {
				t.Errorf("candidates = %+v", resp.Candidates)
			}
			if l, _ := env.links.List(context.Background(), ""); len(l) != 0 {
				t.Errorf("ambiguous answer linked: %+v", l)
			}
		})
	}
}

func TestMatchClaimsLinkLifecycle(t *testing.T) {
	fm := newFakeMatcher(m("p1", certain, 42))
	env := newSvcEnv(t, fm, nil)
	ctx := context.Background()

	// 1. A verified token with link: true and a clear match stores the link.
	resp, err := env.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "user-1", ana), Link: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Decision != DecisionMatch || resp.LinkStatus != LinkCreated || resp.ACR != "urn:example:loa:3" {
		t.Fatalf("first call: %+v", resp)
	}
	l, ok, err := env.links.Get(ctx, testIssuer, "user-1")
	if err != nil || !ok || l.PatientID != "p1" || l.ACR != "urn:example:loa:3" {
		t.Fatalf("link = %+v, %v, %v", l, ok, err)
	}
	if fm.matchCalls() != 1 {
		t.Fatalf("match calls = %d", fm.matchCalls())
	}

	// 2. The same iss and sub, without any demographics: linked, no matching.
	bare := env.kit.idToken(t, env.kit.key, "user-1", map[string]any{"acr": "urn:example:loa:1"})
	resp, err = env.svc.MatchClaims(ctx, Request{IDToken: bare})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Decision != DecisionLinked || resp.Patient != "Patient/p1" || resp.FHIRUser != "https://mpi.example.org/fhir/Patient/p1" ||
		resp.LinkStatus != LinkExisting || resp.ACR != "urn:example:loa:1" {
		t.Fatalf("second call: %+v", resp)
	}
	if fm.matchCalls() != 1 {
		t.Fatalf("linked answer called Match: calls = %d", fm.matchCalls())
	}

	// Another subject of the same issuer is not linked.
	if _, err := env.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "user-2", nil)}); !errors.Is(err, ErrNoDemographics) {
		t.Fatalf("other subject without demographics: err = %v", err)
	}

	// 3. The patient is deleted: the stale link is removed and matching runs.
	fm.deletePatient("p1")
	fm.matches = nil
	resp, err = env.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "user-1", ana)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Decision != DecisionNoMatch || resp.LinkStatus != LinkStaleRemoved || resp.Patient != "" {
		t.Fatalf("after delete: %+v", resp)
	}
	if fm.matchCalls() != 2 {
		t.Fatalf("stale link did not fall back to matching: calls = %d", fm.matchCalls())
	}
	if _, ok, _ := env.links.Get(ctx, testIssuer, "user-1"); ok {
		t.Fatal("stale link kept")
	}
	assertNoDemographics(t, env.log.String())
}

func TestMatchClaimsStaleLinkReplaced(t *testing.T) {
	fm := newFakeMatcher(m("p2", certain, 42))
	env := newSvcEnv(t, fm, nil)
	ctx := context.Background()
	if err := env.links.Put(ctx, Link{Issuer: testIssuer, Subject: "u", PatientID: "gone"}); err != nil {
		t.Fatal(err)
	}
	resp, err := env.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "u", ana), Link: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Decision != DecisionMatch || resp.LinkStatus != LinkStaleReplaced {
		t.Fatalf("resp = %+v", resp)
	}
	if l, ok, _ := env.links.Get(ctx, testIssuer, "u"); !ok || l.PatientID != "p2" {
		t.Fatalf("link = %+v", l)
	}
}

func TestMatchClaimsLinkRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("claims only", func(t *testing.T) {
		env := newSvcEnv(t, newFakeMatcher(m("p1", certain, 42)), nil)
		resp, err := env.svc.MatchClaims(ctx, Request{Claims: anaClaims(), Link: true})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Decision != DecisionMatch || resp.LinkStatus != LinkRequiresIDToken {
			t.Errorf("resp = %+v", resp)
		}
		if l, _ := env.links.List(ctx, ""); len(l) != 0 {
			t.Errorf("claims-only request linked: %+v", l)
		}
	})
	t.Run("acr not accepted", func(t *testing.T) {
		env := newSvcEnv(t, newFakeMatcher(m("p1", certain, 42)), func(o *Options) { o.LinkACRValues = []string{"urn:example:loa:4"} })
		resp, err := env.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "u", ana), Link: true})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Decision != DecisionMatch || resp.LinkStatus != LinkACRNotAccepted {
			t.Errorf("resp = %+v", resp)
		}
	})
	t.Run("links disabled", func(t *testing.T) {
		env := newSvcEnv(t, newFakeMatcher(m("p1", certain, 42)), func(o *Options) { o.Links = nil })
		resp, err := env.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "u", ana), Link: true})
		if err != nil {
			t.Fatal(err)
		}
		if resp.LinkStatus != LinkDisabled {
			t.Errorf("resp = %+v", resp)
		}
	})
}

func TestMatchClaimsInvalidTokens(t *testing.T) {
	fm := newFakeMatcher(m("p1", certain, 42))
	env := newSvcEnv(t, fm, nil)
	ctx := context.Background()
	for name, tok := range map[string]string{
		"wrong key":      env.kit.idToken(t, env.kit.other, "u", ana),
		"other issuer":   env.kit.idToken(t, env.kit.key, "u", map[string]any{"iss": "https://evil.example"}),
		"expired":        env.kit.idToken(t, env.kit.key, "u", map[string]any{"exp": testNow.Add(-10 * time.Minute).Unix()}),
		"wrong audience": env.kit.idToken(t, env.kit.key, "u", map[string]any{"aud": "someone-else"}),
		"garbage":        "not-a-token",
	} {
		if _, err := env.svc.MatchClaims(ctx, Request{IDToken: tok, Link: true}); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
	if fm.matchCalls() != 0 {
		t.Errorf("invalid tokens reached the matcher: %d calls", fm.matchCalls())
	}
	noVerifier := newSvcEnv(t, fm, func(o *Options) { o.Verifier = nil })
	if _, err := noVerifier.svc.MatchClaims(ctx, Request{IDToken: env.kit.idToken(t, env.kit.key, "u", ana)}); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("no verifier: err = %v", err)
	}
}

func TestMatchClaimsEngineErrors(t *testing.T) {
	fm := newFakeMatcher()
	fm.err = errors.Join(matcher.ErrInvalid, errors.New("nothing to match on"))
	env := newSvcEnv(t, fm, nil)
	if _, err := env.svc.MatchClaims(context.Background(), Request{Claims: anaClaims()}); !errors.Is(err, matcher.ErrInvalid) {
		t.Errorf("err = %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{},
		{BaseURL: "/relative"},
		{BaseURL: "ftp://x"},
		{BaseURL: "https://x", Margin: -1},
		{BaseURL: "https://x", Count: -1},
	} {
		if _, err := NewService(newFakeMatcher(), o); err == nil {
			t.Errorf("NewService(%+v) accepted", o)
		}
	}
	if _, err := NewService(nil, Options{BaseURL: "https://x"}); err == nil {
		t.Error("nil matcher accepted")
	}
}
