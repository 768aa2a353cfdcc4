package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/data"
)

// outItem is one unit of work for a write pump.
type outItem struct {
	frame  any                // a ready frame
	msg    *data.Message      // a committed message event
	conv   *data.Conversation // a conversation event
	resume *resumeReq         // replay after a seq
	sent   string             // this connection is storing a message with this client id
	ack    *ackReq            // the outcome of storing it
}

// ackReq is the outcome of storing a message this connection sent: the
// stored message, or the error frame to send.
type ackReq struct {
	clientMsgID string
	msg         data.Message
	fail        *ErrorFrame
}

// ownMessages tracks, on a write pump, the messages its connection is
// storing, so that the connection gets each one once: as the ack, carrying
// the message, not as an ack and a message frame. The message event and
// the store's answer can reach the pump in either order; whichever comes
// first is sent as the ack, the other is dropped.
type ownMessages map[string]bool // client id -> acked already

// sending records that the connection is storing a message.
func (o ownMessages) sending(id string) {
	if id != "" {
		o[id] = false
	}
}

// claimEvent reports whether the event of message id is this connection's
// to send as its ack (and marks it acked).
func (o ownMessages) claimEvent(id string) bool {
	acked, ok := o[id]
	if !ok || acked || id == "" {
		return false
	}
	o[id] = true
	return true
}

// settle ends the tracking of a's message. It returns the error frame to
// send, or the stored message whose ack is still owed (its event has not
// come: yet, or at all, as for a retry, which publishes nothing), or
// neither when the event was sent as the ack already.
func (o ownMessages) settle(a *ackReq) (fail *ErrorFrame, owed *data.Message) {
	acked := o[a.clientMsgID]
	delete(o, a.clientMsgID)
	switch {
	case acked:
		return nil, nil
	case a.fail != nil:
		return a.fail, nil
	}
	return nil, &a.msg
}

func ackFrame(m *data.Message, view any) AckFrame {
	return AckFrame{Type: "ack", ClientMsgID: m.ClientMsgID, ConversationID: m.ConversationID, Seq: m.Seq, Stored: view}
}

type resumeReq struct {
	conversationID string
	lastSeq        int64
	// reply is sent after the replay (a resumed frame), if set.
	reply bool
}

// socket is the part every connection shares: one WebSocket, a bounded send
// queue drained by the write pump, ping/pong deadlines and a read limit.
//
// The queue is a slice that grows only while frames wait (an idle
// connection holds none), bounded by Limits.SendQueue; a channel of that
// capacity would cost every connection 10 KB. send has room for the one
// frame a connection queues before its write pump starts (hello).
type socket struct {
	ws        *websocket.Conn
	limits    Limits
	send      chan outItem
	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	queue []outItem
}

func newSocket(ws *websocket.Conn, limits Limits) *socket {
	return &socket{ws: ws, limits: limits, send: make(chan outItem, 1), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue never blocks: a client too slow to keep up is disconnected and
// catches up by seq when it reconnects.
func (s *socket) enqueue(it outItem) { s.push(it, true) }

// enqueueQuiet queues an item that has nothing to send (the "sending"
// marker) without waking the write pump: the pump takes it, in order,
// with the next item that does, so a sent message costs the pump one
// wake-up, not two.
func (s *socket) enqueueQuiet(it outItem) { s.push(it, false) }

func (s *socket) push(it outItem, wake bool) {
	s.mu.Lock()
	full := len(s.queue) >= s.limits.SendQueue
	if !full {
		s.queue = append(s.queue, it)
	}
	s.mu.Unlock()
	if full {
		select {
		case <-s.done:
		default:
			s.close(websocket.ClosePolicyViolation, "client too slow")
		}
		return
	}
	if !wake {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the queued items; the queue's memory is
// released when it grew beyond a few frames.
func (s *socket) take(buf []outItem) []outItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = append(buf[:0], s.queue...)
	clear(s.queue)
	if cap(s.queue) > 16 {
		s.queue = nil
	} else {
		s.queue = s.queue[:0]
	}
	return buf
}

// shutdown is called by the hub when the server stops.
func (s *socket) shutdown() { s.close(websocket.CloseGoingAway, "server shutting down") }

func (s *socket) close(code int, reason string) {
	s.closeOnce.Do(func() {
		close(s.done)
		_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(s.limits.WriteWait))
		s.ws.Close()
	})
}

func (s *socket) write(frame any) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	_ = s.ws.SetWriteDeadline(time.Now().Add(s.limits.WriteWait))
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// readLoop reads frames until the connection fails, passing each valid JSON
// text frame to handle and answering protocol errors itself.
func (s *socket) readLoop(handle func(f ClientFrame)) {
	defer s.close(websocket.CloseNormalClosure, "")
	s.ws.SetReadLimit(s.limits.MaxFrameBytes)
	_ = s.ws.SetReadDeadline(time.Now().Add(s.limits.PongWait))
	s.ws.SetPongHandler(func(string) error { return s.ws.SetReadDeadline(time.Now().Add(s.limits.PongWait)) })
	for {
		kind, b, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = s.ws.SetReadDeadline(time.Now().Add(s.limits.PongWait))
		if kind != websocket.TextMessage {
			s.enqueue(outItem{frame: errorFrame(&FrameError{Code: CodeBadFrame, Message: "frames must be JSON text frames"})})
			continue
		}
		f, ferr := DecodeClientFrame(b)
		if ferr != nil {
			s.enqueue(outItem{frame: errorFrame(ferr)})
			continue
		}
		if f.Type == FramePing {
			s.enqueue(outItem{frame: PongFrame{Type: "pong"}})
			continue
		}
		handle(f)
	}
}

// writeLoop sends pings and hands queued items to handle, in order, until
// the connection ends. Items on send (the hello frame) go first.
func (s *socket) writeLoop(handle func(outItem) error) {
	ping := time.NewTicker(s.limits.PongWait * 9 / 10)
	defer ping.Stop()
	defer s.close(websocket.CloseNormalClosure, "")
	var batch []outItem
	for {
		select {
		case it := <-s.send:
			if err := handle(it); err != nil {
				return
			}
			continue
		default:
		}
		select {
		case <-s.done:
			return
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.limits.WriteWait)); err != nil {
				return
			}
		case it := <-s.send:
			if err := handle(it); err != nil {
				return
			}
		case <-s.wake:
			batch = s.take(batch)
			for i := range batch {
				if err := handle(batch[i]); err != nil {
					return
				}
			}
			clear(batch)
			if cap(batch) > 16 {
				batch = nil
			}
		}
	}
}

// lister reads a conversation's stored messages after a seq.
type lister func(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error)

// replay writes the stored messages of a conversation after *cursor, up to
// seq upTo (-1: all), advancing *cursor past each one. frame renders a
// message, or returns nil for one this client must not see.
func (s *socket) replay(ctx context.Context, list lister, conversationID string, cursor *int64, upTo int64, frame func(*data.Message) any) error {
	const page = 200
	for {
		msgs, err := list(ctx, conversationID, *cursor, page)
		if err != nil {
			return s.write(ErrorFrame{Type: "error", Code: CodeInternal, Message: "could not load the conversation; resume later"})
		}
		for i := range msgs {
			m := &msgs[i]
			if upTo >= 0 && m.Seq > upTo {
				return nil
			}
			*cursor = m.Seq
			if f := frame(m); f != nil {
				if err := s.write(f); err != nil {
					return err
				}
			}
		}
		if len(msgs) < page {
			return nil
		}
	}
}
