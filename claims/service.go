package claims

import (
	"github.com/prometheus/client_golang/prometheus"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Matcher is the part of the engine the service needs.
type Matcher interface {
	Match(ctx context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error)
	Get(ctx context.Context, id string) (matcher.StoredPatient, error)
}

// TokenVerifier verifies ID tokens; *authn.Verifier built from the
// --trust-issuer flags implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*authn.Claims, error)
}

// Options configure a Service.
type Options struct {
	// BaseURL is the server's public base URL, e.g. "https://mpi.example.org";
	// fhirUser is BaseURL + "/fhir/Patient/ID". Required, absolute http(s).
	BaseURL string
	// Verifier checks id_token requests. Nil: id_token requests are refused
	// as invalid tokens (only claims requests work).
	Verifier TokenVerifier
	// Links stores (iss, sub) → patient links. Nil: linking is off
	// ("link": true is answered with link_status "disabled").
	Links *LinkStore
	// Margin is the lead in match weight (bits) the best candidate needs over
	// the second for "match". Default DefaultMargin (10).
	Margin float64
	// Count is how many candidates are asked for and listed. Default 5.
	Count int
	// LinkACRValues, when non-empty, restricts link creation to tokens whose
	// acr is one of these (e.g. only identity-proofed logins). Default: any.
	LinkACRValues []string
	// RequireVerifiedContact: see RawOptions. Default false.
	RequireVerifiedContact bool
	// Logger receives the audit line of every decision. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for link timestamps. Default time.Now.
	Now func() time.Time
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	u, err := url.Parse(o.BaseURL)
	if o.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("claims: BaseURL %q must be an absolute http(s) URL", o.BaseURL))
	}
	if o.Margin < 0 || math.IsNaN(o.Margin) || math.IsInf(o.Margin, 0) {
		errs = append(errs, fmt.Errorf("claims: Margin %v must be a finite number >= 0", o.Margin))
	}
	if o.Count < 0 {
		errs = append(errs, fmt.Errorf("claims: Count %d must be >= 0", o.Count))
	}
	return errors.Join(errs...)
}

func (o *Options) ensureDefaults() {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	if o.Count == 0 {
		o.Count = 5
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Service decides which patient a set of OIDC claims or an ID token names.
// It is shared by the HTTP handler and the gRPC server, and safe for
// concurrent use.
type Service struct {
	m    Matcher
	opts Options
	// decisions counts answers by decision (see Collectors).
	decisions *prometheus.CounterVec
}

// NewService returns a Service using m. A Margin of 0 means the default;
// a Margin of exactly zero cannot be configured (it would make any certain
// lead decisive).
func NewService(m Matcher, opts Options) (*Service, error) {
	if m == nil {
		return nil, errors.New("claims: nil matcher")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	return &Service{m: m, opts: opts, decisions: newDecisionCounter()}, nil
}

// LinkStatus says what happened to the identity link.
type LinkStatus string

// Link statuses; empty when no link was involved.
const (
	LinkExisting        LinkStatus = "existing"           // decision "linked"
	LinkCreated         LinkStatus = "created"            // a match was linked
	LinkStaleRemoved    LinkStatus = "stale_link_removed" // the linked patient is gone; matched afresh
	LinkStaleReplaced   LinkStatus = "stale_link_replaced"
	LinkNotLinked       LinkStatus = "not_linked"        // link asked, decision was not match
	LinkRequiresIDToken LinkStatus = "requires_id_token" // link asked with claims only
	LinkACRNotAccepted  LinkStatus = "acr_not_accepted"  // link asked, acr not in LinkACRValues
	LinkDisabled        LinkStatus = "disabled"          // link asked, no link store
)

// Candidate is one listed candidate.
type Candidate struct {
	Patient string  `json:"patient"` // "Patient/ID"
	Score   float64 `json:"score"`   // match probability, 0..1
	Grade   string  `json:"grade"`
}

// Response is the answer of MatchClaims.
type Response struct {
	Decision Decision `json:"decision"`
	// Patient ("Patient/ID") and FHIRUser (absolute URL) are set only for
	// match and linked.
	Patient  string `json:"patient,omitempty"`
	FHIRUser string `json:"fhirUser,omitempty"`
	// Score and Grade are the best candidate's (absent for linked and for
	// no_match without candidates).
	Score      float64     `json:"score,omitempty"`
	Grade      string      `json:"grade,omitempty"`
	ACR        string      `json:"acr,omitempty"`
	LinkStatus LinkStatus  `json:"link_status,omitempty"`
	Candidates []Candidate `json:"candidates"`
}

// subject is who the request is about, as far as it is verified.
type subject struct {
	iss, sub string // empty for claims-only requests
	acr      string
	verified bool
}

// MatchClaims answers one request. Errors: ErrInvalidToken (401, say nothing
// more), ErrBadRequest (400), engine errors (matcher.ErrInvalid → 400,
// others 500).
func (s *Service) MatchClaims(ctx context.Context, req Request) (Response, error) {
	if err := req.Validate(); err != nil {
		return Response{}, err
	}
	c := req.Claims
	var who subject
	if req.IDToken != "" {
		if s.opts.Verifier == nil {
			return Response{}, fmt.Errorf("%w: no trusted issuer configured", ErrInvalidToken)
		}
		tc, err := s.opts.Verifier.Verify(ctx, req.IDToken)
		if err != nil {
			s.decisions.WithLabelValues("invalid_token").Inc()
			return Response{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		c, err = claimsFromToken(tc)
		if err != nil {
			return Response{}, err
		}
		who = subject{iss: tc.Issuer, sub: tc.Subject, acr: c.ACR, verified: tc.Subject != ""}
	} else {
		who.acr = c.ACR
	}

	resp, err := s.decide(ctx, req, c, who)
	if err != nil {
		s.audit(ctx, who, Response{Decision: "error"}, err)
		return Response{}, err
	}
	s.audit(ctx, who, resp, nil)
	s.decisions.WithLabelValues(string(resp.Decision)).Inc()
	return resp, nil
}

func (s *Service) decide(ctx context.Context, req Request, c *OIDCClaims, who subject) (Response, error) {
	var status LinkStatus
	// An existing link answers at once, without demographics.
	if who.verified && s.opts.Links != nil {
		l, ok, err := s.opts.Links.Get(ctx, who.iss, who.sub)
		if err != nil && !errors.Is(err, ErrBadRequest) {
			return Response{}, err
		}
		if ok {
			_, err := s.m.Get(ctx, l.PatientID)
			switch {
			case err == nil:
				return Response{
					Decision:   DecisionLinked,
					Patient:    "Patient/" + l.PatientID,
					FHIRUser:   s.fhirUser(l.PatientID),
					ACR:        who.acr,
					LinkStatus: LinkExisting,
					Candidates: []Candidate{},
				}, nil
			case errors.Is(err, matcher.ErrNotFound):
				if err := s.opts.Links.Delete(ctx, who.iss, who.sub); err != nil && !errors.Is(err, ErrLinkNotFound) {
					return Response{}, err
				}
				status = LinkStaleRemoved
			default:
				return Response{}, fmt.Errorf("claims: look up linked patient: %w", err)
			}
		}
	}

	rec := record.Normalize("", ToRaw(c, RawOptions{RequireVerifiedContact: s.opts.RequireVerifiedContact}))
	if !rec.HasDemographics() {
		return Response{}, ErrNoDemographics
	}
	ms, err := s.m.Match(ctx, rec, matcher.MatchOptions{Count: s.opts.Count, MinGrade: scoring.GradePossible})
	if err != nil {
		return Response{}, fmt.Errorf("claims: match: %w", err)
	}
	ranked := ms // in matcher.Rank order, at most Count
	resp := Response{
		Decision:   decide(ranked, s.opts.Margin),
		ACR:        who.acr,
		Candidates: make([]Candidate, 0, len(ranked)),
	}
	for _, m := range ranked {
		resp.Candidates = append(resp.Candidates, Candidate{Patient: "Patient/" + m.ID, Score: m.Probability, Grade: m.Grade.String()})
	}
	if len(ranked) > 0 {
		resp.Score, resp.Grade = ranked[0].Probability, ranked[0].Grade.String()
	}
	if resp.Decision == DecisionMatch {
		resp.Patient = "Patient/" + ranked[0].ID
		resp.FHIRUser = s.fhirUser(ranked[0].ID)
	}
	if resp.Decision == DecisionNoMatch {
		// Nobody was identified: the near misses are other people, whose
		// ids and scores are none of the caller's business.
		resp.Candidates = []Candidate{}
		resp.Score, resp.Grade = 0, ""
		audit.NoteFrom(ctx).Withhold() // nor does the audit trail list them
	}

	if req.Link {
		linked, st, err := s.link(ctx, who, resp.Decision, ranked)
		if err != nil {
			return Response{}, err
		}
		switch {
		case linked && status == LinkStaleRemoved:
			status = LinkStaleReplaced
		case status == "":
			status = st
		}
	}
	resp.LinkStatus = status
	return resp, nil
}

// link stores (iss, sub) → best candidate when the decision allows it.
func (s *Service) link(ctx context.Context, who subject, d Decision, ranked []matcher.Match) (bool, LinkStatus, error) {
	switch {
	case s.opts.Links == nil:
		return false, LinkDisabled, nil
	case !who.verified:
		return false, LinkRequiresIDToken, nil
	case d != DecisionMatch:
		return false, LinkNotLinked, nil
	case len(s.opts.LinkACRValues) > 0 && !slices.Contains(s.opts.LinkACRValues, who.acr):
		return false, LinkACRNotAccepted, nil
	}
	l := Link{Issuer: who.iss, Subject: who.sub, PatientID: ranked[0].ID, Created: s.opts.Now().UTC(), ACR: who.acr, Score: ranked[0].Probability}
	if err := s.opts.Links.Put(ctx, l); err != nil {
		return false, "", err
	}
	return true, LinkCreated, nil
}

func (s *Service) fhirUser(id string) string {
	return s.opts.BaseURL + "/fhir/Patient/" + url.PathEscape(id)
}

// claimsFromToken decodes the OIDC claims of a verified token.
func claimsFromToken(tc *authn.Claims) (*OIDCClaims, error) {
	data, err := json.Marshal(tc.Raw)
	if err != nil {
		return nil, err
	}
	var c OIDCClaims
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: ID token claims: %s", ErrBadRequest, describeJSONError(err))
	}
	return &c, nil
}

// audit writes one line per decision: who asked about whom and what was
// decided — never demographics.
func (s *Service) audit(ctx context.Context, who subject, r Response, err error) {
	attrs := []any{
		"iss", who.iss, "sub", who.sub, "acr", who.acr,
		"decision", string(r.Decision), "patient", strings.TrimPrefix(r.Patient, "Patient/"),
		"score", r.Score, "grade", r.Grade, "candidates", len(r.Candidates),
	}
	if r.LinkStatus != "" {
		attrs = append(attrs, "link_status", string(r.LinkStatus))
	}
	if ac := authn.ClaimsFromContext(ctx); ac != nil {
		attrs = append(attrs, "client_iss", ac.Issuer, "client_sub", ac.Subject)
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
		s.opts.Logger.WarnContext(ctx, "claims: decision failed", attrs...)
		return
	}
	s.opts.Logger.InfoContext(ctx, "claims: decision", attrs...)
}
