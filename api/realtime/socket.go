package realtime

import (
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
}

type resumeReq struct {
	conversationID string
	lastSeq        int64
	// reply is sent after the replay (a resumed frame), if set.
	reply bool
}

// socket is the part every connection shares: one WebSocket, a bounded send
// queue drained by the write pump, ping/pong deadlines and a read limit.
type socket struct {
	ws        *websocket.Conn
	limits    Limits
	send      chan outItem
	done      chan struct{}
	closeOnce sync.Once
}

func newSocket(ws *websocket.Conn, limits Limits) *socket {
	return &socket{ws: ws, limits: limits, send: make(chan outItem, limits.SendQueue), done: make(chan struct{})}
}

// enqueue never blocks: a client too slow to keep up is disconnected and
// catches up by seq when it reconnects.
func (s *socket) enqueue(it outItem) {
	select {
	case <-s.done:
	case s.send <- it:
	default:
		s.close(websocket.ClosePolicyViolation, "client too slow")
	}
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

// writeLoop sends pings and hands queued items to handle until the
// connection ends.
func (s *socket) writeLoop(handle func(outItem) error) {
	ping := time.NewTicker(s.limits.PongWait * 9 / 10)
	defer ping.Stop()
	defer s.close(websocket.CloseNormalClosure, "")
	for {
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
		}
	}
}
