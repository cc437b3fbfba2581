package tunnel

import (
	"fmt"
	"testing"
	"time"
)

func testTunnel(channels int, clients ...string) *tunnelState {
	t := &tunnelState{ID: "t", Clients: map[string]*clientState{}}
	for i := range channels {
		t.Channels = append(t.Channels, &channelState{ID: fmt.Sprintf("c%d", i), Kind: channelStrKind, Partition: fmt.Sprintf("p%d", i), Status: StatusClose})
	}
	for _, c := range clients {
		t.Clients[c] = &clientState{ID: c, lastHeartbeat: time.Now()}
	}
	return t
}

func countOwned(t *tunnelState, client, status string) int {
	n := 0
	for _, ch := range t.Channels {
		if ch.Owner == client && ch.Status == status {
			n++
		}
	}
	return n
}

func TestBalanceSplitsEvenlyAndShedsSurplus(t *testing.T) {
	s := &Service{now: time.Now}
	tun := testTunnel(7, "a", "b")
	s.balance(tun, "a")
	s.balance(tun, "b")
	if countOwned(tun, "a", StatusOpen) != 4 || countOwned(tun, "b", StatusOpen) != 3 {
		t.Fatalf("two clients: a=%d b=%d, want 4/3", countOwned(tun, "a", StatusOpen), countOwned(tun, "b", StatusOpen))
	}
	for _, ch := range tun.Channels {
		if ch.Version != 1 {
			t.Fatalf("assignment must bump the version: %+v", ch)
		}
	}
	// A third client joins: a and b shed down to their shares with CLOSING.
	tun.Clients["c"] = &clientState{ID: "c", lastHeartbeat: time.Now()}
	s.balance(tun, "a")
	s.balance(tun, "b")
	if countOwned(tun, "a", StatusOpen) != 3 || countOwned(tun, "a", StatusClosing) != 1 ||
		countOwned(tun, "b", StatusOpen) != 2 || countOwned(tun, "b", StatusClosing) != 1 {
		t.Fatalf("after c joined: a open %d closing %d, b open %d closing %d",
			countOwned(tun, "a", StatusOpen), countOwned(tun, "a", StatusClosing),
			countOwned(tun, "b", StatusOpen), countOwned(tun, "b", StatusClosing))
	}
	// Nothing is free until the CLOSING channels are given up.
	s.balance(tun, "c")
	if countOwned(tun, "c", StatusOpen) != 0 {
		t.Fatal("c took a channel another client still holds")
	}
	for _, ch := range tun.Channels {
		if ch.Status == StatusClosing {
			if ch.Version != 2 {
				t.Fatalf("CLOSING must bump the version: %+v", ch)
			}
			ch.LastOwner, ch.Owner, ch.Status, ch.Version = ch.Owner, "", StatusClose, ch.Version+1
		}
	}
	s.balance(tun, "c")
	if countOwned(tun, "c", StatusOpen) != 2 {
		t.Fatalf("c owns %d channels, want 2", countOwned(tun, "c", StatusOpen))
	}
}

func TestBalanceSkipsWaitingSuspendedFinishedAndHeldChannels(t *testing.T) {
	s := &Service{now: time.Now}
	tun := testTunnel(5, "a")
	tun.Channels[0].Status = StatusWait
	tun.Channels[1].Status = StatusTerminated
	tun.Channels[2].Suspended = true
	tun.Channels[3].heldUntil = time.Now().Add(time.Hour)
	s.balance(tun, "a")
	for i, ch := range tun.Channels {
		if want := i == 4; (ch.Owner == "a") != want {
			t.Fatalf("channel %d (%+v): owned=%v, want %v", i, ch, ch.Owner == "a", want)
		}
	}
}
