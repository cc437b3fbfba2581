package tunnel

import (
	"sort"
	"time"
)

// Tunnel types as the protocol names them in TunnelInfo.tunnel_type.
const (
	TypeBaseData      = "BaseData"
	TypeStream        = "Stream"
	TypeBaseAndStream = "BaseAndStream"
)

// Stages reported by Describe.
const (
	StageInit       = "InitBaseDataAndStreamShard"
	StageBaseData   = "ProcessBaseData"
	StageStream     = "ProcessStream"
	channelBaseKind = "BaseData"
	channelStrKind  = "Stream"
)

// Channel statuses. WAIT is Describe-only (the heartbeat enum has none): a
// channel that may not be handed out yet. CLOSE means "unowned and
// assignable".
const (
	StatusWait       = "WAIT"
	StatusOpen       = "OPEN"
	StatusClosing    = "CLOSING"
	StatusClose      = "CLOSE"
	StatusTerminated = "TERMINATED"
)

// newChannelID returns a fresh channel id of a kind. The real service's base
// channel ids begin with "BaseData_", which the SDK relies on (GoSDK
// tunnel/channel.go:108-111); everything else about an id is opaque, so ids
// carry nothing but randomness. They are persisted with the tunnel.
func newChannelID(kind string) string {
	if kind == channelBaseKind {
		return "BaseData_" + newID()
	}
	return newID()
}

// channelState is the persisted state of one channel.
type channelState struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Partition is the table partition the channel reads; Parent is that
	// partition's parent (a stream channel waits until the parent's stream
	// channel, if the tunnel has one, is TERMINATED), Epoch its epoch.
	Partition string `json:"partition"`
	Parent    string `json:"parent,omitempty"`
	Epoch     int32  `json:"epoch,omitempty"`
	// LegacyShard is the shard number of channels persisted before
	// partitions existed; load maps it to the shard's initial partition.
	LegacyShard int    `json:"shard,omitempty"`
	Status      string `json:"status"`
	Version     int64  `json:"version"`
	Owner       string `json:"owner,omitempty"`
	LastOwner   string `json:"last_owner,omitempty"`
	// Suspended channels (Schedule CLOSING) are not handed out until resumed.
	Suspended bool `json:"suspended,omitempty"`
	// Checkpoint and Seq are the last committed checkpoint.
	Checkpoint string `json:"checkpoint"`
	Seq        int64  `json:"seq"`
	// Delivered and CheckpointTs summarise the checkpoint for Describe.
	Delivered    int64 `json:"delivered"`
	CheckpointTs int64 `json:"checkpoint_ts"`
	// FinalDelivered is the record count at the end of the channel, noted
	// when a read hands out the "finished" token (whose checkpoint carries
	// no count).
	FinalDelivered int64 `json:"final_delivered,omitempty"`
	FinalTs        int64 `json:"final_ts,omitempty"`
	// heldUntil keeps a channel released by /tunnel/shutdown away from other
	// clients briefly, so that the final checkpoint the SDK sends after the
	// shutdown call lands before a new owner reads the checkpoint.
	heldUntil time.Time
}

// clientState is a connected tunnel client (worker).
type clientState struct {
	ID            string
	Tag           string
	TimeoutSec    int64
	lastHeartbeat time.Time
}

// tunnelState is everything the service keeps about one tunnel; it is
// persisted as one JSON document per tunnel.
type tunnelState struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Instance      string `json:"instance"`
	Table         string `json:"table"`
	Type          string `json:"type"`
	Stage         string `json:"stage"`
	CreateTimeNs  int64  `json:"create_time_ns"`
	SnapshotID    string `json:"snapshot_id,omitempty"`
	SnapshotFreed bool   `json:"snapshot_freed,omitempty"`
	// Expired is set once a stream channel's next changes were found past
	// the change log's retention; it never clears.
	Expired bool `json:"expired,omitempty"`
	// Stream configuration as given at creation.
	StartFlag     int32           `json:"start_flag"`
	StartOffsetNs uint64          `json:"start_offset_ns,omitempty"`
	EndOffsetNs   uint64          `json:"end_offset_ns,omitempty"`
	Channels      []*channelState `json:"channels"`
	// Clients are not persisted: see Service.load.
	Clients map[string]*clientState `json:"-"`
}

func (t *tunnelState) channel(id string) *channelState {
	for _, c := range t.Channels {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (t *tunnelState) sortedClientIDs() []string {
	ids := make([]string, 0, len(t.Clients))
	for id := range t.Clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// assignable reports whether a channel takes part in distribution.
func (c *channelState) assignable() bool {
	return !c.Suspended && (c.Status == StatusOpen || c.Status == StatusClosing || c.Status == StatusClose)
}

// release makes a channel unowned and assignable again.
func (c *channelState) release() {
	if c.Owner != "" {
		c.LastOwner = c.Owner
	}
	c.Owner = ""
	if c.Status == StatusOpen || c.Status == StatusClosing {
		c.Status = StatusClose
		c.Version++
	}
}

// streamChannel returns the tunnel's stream channel of a partition, if any.
func (t *tunnelState) streamChannel(partition string) *channelState {
	for _, c := range t.Channels {
		if c.Kind == channelStrKind && c.Partition == partition {
			return c
		}
	}
	return nil
}

// baseDone reports whether every base channel is TERMINATED.
func (t *tunnelState) baseDone() bool {
	for _, c := range t.Channels {
		if c.Kind == channelBaseKind && c.Status != StatusTerminated {
			return false
		}
	}
	return true
}

// mustWait reports whether a stream channel may not be handed out yet: the
// base phase of the tunnel is still running, or the stream channel of its
// partition's parent has not finished (children are read after their
// parent).
func (t *tunnelState) mustWait(c *channelState) bool {
	if c.Kind != channelStrKind {
		return false
	}
	if !t.baseDone() {
		return true
	}
	if c.Parent == "" {
		return false
	}
	p := t.streamChannel(c.Parent)
	return p != nil && p.Status != StatusTerminated
}

// openWaiting moves WAIT channels that may now run to CLOSE (assignable) and
// reports whether any moved.
func (t *tunnelState) openWaiting() bool {
	changed := false
	for _, c := range t.Channels {
		if c.Status == StatusWait && !t.mustWait(c) {
			c.Status = StatusClose
			changed = true
		}
	}
	return changed
}
