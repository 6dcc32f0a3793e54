package identity

import (
	"reflect"
	"testing"
	"time"
)

// TestKeptLinksRebuildExactly: link events kept in the compact form
// (reasons naming a known patient, an unknown one, free text) come back
// in a history exactly as applied, in order with events kept as they
// are, and a merge found by sequence number still reads as a merge.
func TestKeptLinksRebuildExactly(t *testing.T) {
	st := NewState()
	at := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	events := []Event{
		{Seq: 1, At: at, By: ActorBatch, Kind: KindLink, Patient: "a", Identity: "ia", Reason: "new identity"},
		{Seq: 2, At: at, By: ActorAuto, Kind: KindLink, Patient: "b", Identity: "ia", Score: 0.999, Grade: "certain", Reason: linkReasonPrefix + "a"},
		{Seq: 3, At: at.Add(time.Second), By: ActorAuto, Kind: KindLink, Patient: "c", Identity: "ia", Score: 1, Grade: "certain", Reason: linkReasonPrefix + "zz"},
		{Seq: 4, At: at.Add(2 * time.Second), By: Steward("ann"), Kind: KindLink, Patient: "d", Identity: "ia", Reason: "steward says so"},
		{Seq: 5, At: at.Add(3 * time.Second), By: Steward("ann"), Kind: KindUnmerge, From: "ia", Identity: "ib", Patients: []string{"b", "c"}, Reason: "two people"},
		{Seq: 6, At: at.Add(4 * time.Second), By: ActorAuto, Kind: KindLink, Patient: "b", Identity: "ia", Score: 0.99, Grade: "certain", Reason: linkReasonPrefix + "d"},
	}
	for _, e := range events {
		st.Apply(e)
	}
	if len(st.keptLinks) != 4 {
		t.Fatalf("%d links kept compactly, want 4", len(st.keptLinks))
	}
	if got, want := st.PatientHistory("b"), []Event{events[1], events[4], events[5]}; !reflect.DeepEqual(got, want) {
		t.Errorf("history of b:\n%+v\nwant\n%+v", got, want)
	}
	if got, want := st.IdentityHistory("ia"), events[1:]; !reflect.DeepEqual(got, want) {
		t.Errorf("history of ia:\n%+v\nwant\n%+v", got, want)
	}
	if e, ok := st.keptEvent(st.patient("c").via); !ok || e.Kind != KindUnmerge {
		t.Errorf("c moved by %+v, %v; want the unmerge", e, ok)
	}
}
