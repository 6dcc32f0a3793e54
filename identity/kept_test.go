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

// TestTaskHistorySpansAssignment: a patient's history shows the tasks
// about it opened while it was assigned since its last assignment (no
// task opened before a delete or before it was linked), in sequence
// order with its kept events, and TaskFor finds a pair's newest task.
func TestTaskHistorySpansAssignment(t *testing.T) {
	st := NewState()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ev := func(seq uint64, e Event) Event {
		e.Seq, e.At, e.By = seq, at.Add(time.Duration(seq)*time.Second), ActorBatch
		return e
	}
	events := []Event{
		ev(1, Event{Kind: KindLink, Patient: "a", Identity: "ia"}),
		ev(2, Event{Kind: KindLink, Patient: "b", Identity: "ib"}),
		ev(3, Event{Kind: KindTask, Task: "t1", Left: "a", Right: "b", Score: 0.5, Grade: "possible"}),
		ev(4, Event{Kind: KindUnlink, Patient: "b"}),
		ev(5, Event{Kind: KindTask, Task: "t2", Left: "a", Right: "c", Score: 0.6, Grade: "possible"}),
		ev(6, Event{Kind: KindLink, Patient: "b", Identity: "ib2"}),
		ev(7, Event{Kind: KindTask, Task: "t3", Left: "b", Right: "a", Score: 0.7, Grade: "probable"}),
		ev(8, Event{Kind: KindLink, Patient: "c", Identity: "ia", Reason: linkReasonPrefix + "a"}),
		ev(9, Event{Kind: KindDecide, Task: "t3", Left: "b", Right: "a", Decision: DecisionDefer}),
	}
	for _, e := range events {
		st.Apply(e)
	}
	for p, want := range map[string][]Event{
		"a": {events[2], events[4], events[6], events[8]},
		"b": {events[6], events[8]},
		"c": {events[7]},
	} {
		if got := st.PatientHistory(p); !reflect.DeepEqual(got, want) {
			t.Errorf("history of %s:\n%+v\nwant\n%+v", p, got, want)
		}
	}
	if got := st.TaskFor("a", "b"); got == nil || got.ID != "t3" {
		t.Errorf("TaskFor(a, b) = %+v, want t3", got)
	}
	if got := st.TaskFor("c", "a"); got == nil || got.ID != "t2" {
		t.Errorf("TaskFor(c, a) = %+v, want t2", got)
	}
	if got := st.TaskFor("b", "c"); got != nil {
		t.Errorf("TaskFor(b, c) = %+v, want none", got)
	}
}
