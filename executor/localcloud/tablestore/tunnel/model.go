package tunnel

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
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

// Channel statuses. WAIT is internal (Describe only): a channel that may not be
// handed out yet. CLOSE means "unowned and assignable".
const (
	StatusWait       = "WAIT"
	StatusOpen       = "OPEN"
	StatusClosing    = "CLOSING"
	StatusClose      = "CLOSE"
	StatusTerminated = "TERMINATED"
)

// ChannelID returns the id of the channel of the given kind ("BaseData" or
// "Stream") that reads the given shard of a tunnel:
// "<kind>_<tunnel id>_<shard>". Base ids start with "BaseData_" as the SDK
// assumes; the shard number is the decimal after the last underscore (see
// ChannelShard).
func ChannelID(kind, tunnelID string, shard int) string {
	return kind + "_" + tunnelID + "_" + strconv.Itoa(shard)
}

// ChannelShard returns the table shard a channel reads, parsed from its id.
// Consumers use it as their writer identity: the base and the stream channel
// of one shard have different ids but the same shard number.
func ChannelShard(channelID string) (int, error) {
	i := strings.LastIndexByte(channelID, '_')
	if i < 0 {
		return 0, fmt.Errorf("channel id %q has no shard suffix", channelID)
	}
	n, err := strconv.Atoi(channelID[i+1:])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("channel id %q has no numeric shard suffix", channelID)
	}
	return n, nil
}

// channelState is the persisted state of one channel.
type channelState struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Shard     int    `json:"shard"`
	Status    string `json:"status"`
	Version   int64  `json:"version"`
	Owner     string `json:"owner,omitempty"`
	LastOwner string `json:"last_owner,omitempty"`
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
	// BaseTs is the sequence timestamp (µs) base records are numbered from;
	// it lies just before the snapshot was taken, so every stream record of
	// the same shard sorts after every base record.
	BaseTs int64 `json:"base_ts"`
	// Stream configuration as given at creation.
	StartFlag     int32  `json:"start_flag"`
	StartOffsetNs uint64 `json:"start_offset_ns,omitempty"`
	EndOffsetNs   uint64 `json:"end_offset_ns,omitempty"`
	// StreamStart[shard] is the change-log position the stream channel of the
	// shard starts after.
	StreamStart []uint64        `json:"stream_start"`
	Channels    []*channelState `json:"channels"`
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
