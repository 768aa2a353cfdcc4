/* Frontdesk visitor widget. Embed with:
 *   <script src="https://YOUR-FRONTDESK/widget.js" data-site-key="KEY" async></script>
 * Everything lives in one closure and one Shadow DOM; the only global is
 * window.Frontdesk. Message text is always inserted as text, never as HTML.
 */
(function () {
  "use strict";
  if (window.Frontdesk && window.Frontdesk.__loaded) return;

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[data-site-key]");
    return all[all.length - 1];
  })();
  if (!script) return;
  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var siteKey = script.getAttribute("data-site-key") || "demo";
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";

  var TEXT = {
    en: { launcher: "Chat with us", title: "Customer service", placeholder: "Type your question…", send: "Send",
      connecting: "Connecting…", offline: "Reconnecting…", failed: "Not sent — will retry", close: "Close chat",
      greeting: "Hi! Ask me anything about your order, shipping, returns or payment.",
      position: "You are number {n} in line.", eta: " Estimated wait: about {m} min.", typing: "Agent is typing…",
      leave_title: "Leave us a message", name: "Name", email: "E-mail", phone: "Phone (optional)", message: "Your message",
      leave_send: "Send message", leave_done: "Thanks! We received your message and will reply by e-mail.",
      rate_title: "How did we do?", rate_thanks: "Thanks for your feedback!", stars: "{n} of 5 stars",
      helpful: "Was this helpful?", yes: "Yes", no: "No", thanks: "Thanks!", read: "Read",
      attach: "Attach a file", uploading: "Uploading…", upload_failed: "Upload failed: ", download: "Download",
      prechat_title: "Before we start", topic: "Topic", start: "Start chat", copy: "Copy code", copied: "Copied!",
      bot_notice: "You are chatting with an automated assistant. A person joins when you ask.", human: "Talk to a person",
      privacy: "Privacy notice", consent: "I have read the privacy notice", consent_needed: "Please confirm you have read the privacy notice." },
    zh: { launcher: "在线客服", title: "在线客服", placeholder: "请输入您的问题…", send: "发送",
      connecting: "连接中…", offline: "正在重新连接…", failed: "未发送，稍后重试", close: "关闭",
      greeting: "您好！有关订单、配送、退换货或支付的问题都可以问我。",
      position: "您当前排在第 {n} 位。", eta: "预计等待约 {m} 分钟。", typing: "客服正在输入…",
      leave_title: "给我们留言", name: "姓名", email: "邮箱", phone: "电话（可选）", message: "留言内容",
      leave_send: "提交留言", leave_done: "谢谢！我们已收到您的留言，会通过邮件回复您。",
      rate_title: "请为本次服务评分", rate_thanks: "感谢您的评价！", stars: "{n} 星（满分 5 星）",
      helpful: "这个回答有帮助吗？", yes: "有帮助", no: "没帮助", thanks: "谢谢反馈！", read: "已读",
      attach: "发送文件", uploading: "上传中…", upload_failed: "上传失败：", download: "下载",
      prechat_title: "开始咨询前", topic: "咨询主题", start: "开始咨询", copy: "复制优惠码", copied: "已复制！",
      bot_notice: "您正在与智能助手（自动回复）对话，需要时可转人工。", human: "转人工",
      privacy: "隐私声明", consent: "我已阅读隐私声明", consent_needed: "请先确认您已阅读隐私声明。" }
  }[lang];

  var storeKey = "frontdesk:" + siteKey + ":";
  function load(k) { try { return localStorage.getItem(storeKey + k); } catch (e) { return null; } }
  function save(k, v) { try { localStorage.setItem(storeKey + k, v); } catch (e) { /* private mode */ } }
  function drop(k) { try { localStorage.removeItem(storeKey + k); } catch (e) { /* private mode */ } }

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 20px;background:#2563eb;color:#fff;font-size:15px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.2)}",
    ".launcher:focus-visible,.send:focus-visible,.qr:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}",
    ".panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:360px;max-width:calc(100vw - 16px);height:520px;max-height:calc(100vh - 40px);display:none;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;color:#1f2933;font-size:14px}",
    ".panel.open{display:flex}",
    ".head{display:flex;align-items:center;justify-content:space-between;padding:12px 16px;background:#2563eb;color:#fff;font-weight:600}",
    ".x{background:none;border:0;color:#fff;font-size:20px;cursor:pointer;line-height:1}",
    ".status{font-size:12px;color:#52606d;padding:4px 16px;background:#f1f5f9;display:none}",
    ".status.show{display:block}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f8fafc}",
    ".msg{max-width:80%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;line-height:1.45}",
    ".msg.visitor{align-self:flex-end;background:#2563eb;color:#fff;border-bottom-right-radius:4px}",
    ".msg.bot,.msg.agent{align-self:flex-start;background:#fff;border:1px solid #e2e8f0;border-bottom-left-radius:4px}",
    ".msg.system{align-self:center;background:none;color:#64748b;font-size:12px}",
    ".msg.pending{opacity:.6}",
    ".msg p{margin:0}.msg p+p,.msg p+ul,.msg ul+p{margin-top:6px}.msg ul,.msg ol{margin:4px 0;padding-left:20px}",
    ".msg.bot,.msg.agent{white-space:normal}.msg a{color:#1d4ed8}.msg code{background:#f1f5f9;padding:0 3px;border-radius:3px}",
    ".msg.failed{outline:1px dashed #dc2626}",
    ".qrs{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}",
    ".botnote{padding:6px 16px;background:#eff6ff;color:#1e3a8a;font-size:12px}",
    ".human{align-self:flex-start;background:none;border:0;padding:0 4px;color:#2563eb;font-size:12px;text-decoration:underline;cursor:pointer}",
    ".qr{border:1px solid #2563eb;background:#fff;color:#2563eb;border-radius:14px;padding:4px 10px;cursor:pointer;font-size:13px}",
    ".foot{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e8f0;background:#fff}",
    // One line fits the 40 px box exactly (no scroll bar until a second line);
    // 16 px text keeps iOS Safari from zooming in on focus.
    ".input{flex:1;border:1px solid #cbd5e1;border-radius:8px;padding:8px 10px;font-size:16px;line-height:22px;box-sizing:border-box;resize:none;height:40px;overflow-y:auto}",
    ".attach{border:0;background:none;font-size:18px;cursor:pointer;padding:0 4px}",
    ".file a,.file button{color:#1d4ed8;background:none;border:0;padding:0;cursor:pointer;text-decoration:underline;font:inherit}.file img{max-width:100%;border-radius:6px;display:block}",
    ".send{border:0;border-radius:8px;background:#2563eb;color:#fff;padding:0 16px;cursor:pointer;font-size:14px}",
    ".badge{display:inline-block;min-width:18px;height:18px;line-height:18px;margin-left:8px;padding:0 5px;border-radius:9px;background:#dc2626;color:#fff;font-size:12px;text-align:center}",
    ".badge[hidden]{display:none}",
    ".coupon{align-self:flex-start;border:2px dashed #f59e0b;background:#fffbeb;border-radius:10px;padding:10px;max-width:85%}",
    ".coupon .code{font-family:monospace;font-size:16px;font-weight:700;letter-spacing:1px;margin:4px 0}",
    ".card img{max-width:100%;border-radius:6px}.card a.btn{display:inline-block;background:#2563eb;color:#fff;padding:6px 12px;border-radius:6px;text-decoration:none;text-align:center}",
    ".fb{display:flex;gap:6px;align-items:center;font-size:12px;color:#64748b;align-self:flex-start}.fb button{border:1px solid #cbd5e1;background:#fff;border-radius:12px;padding:2px 8px;cursor:pointer}",
    ".read{align-self:flex-end;font-size:11px;color:#94a3b8;margin-top:-4px}",
    ".typing{font-size:12px;color:#64748b;padding:0 12px 4px;min-height:16px;background:#f8fafc}",
    ".queue{font-size:12px;color:#1e3a8a;background:#eff6ff;padding:6px 12px;display:none}.queue.show{display:block}",
    ".card{align-self:stretch;background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:10px;display:flex;flex-direction:column;gap:6px}",
    ".card h3{margin:0;font-size:14px}.card input,.card textarea{border:1px solid #cbd5e1;border-radius:6px;padding:6px 8px;font-size:13px}",
    ".card textarea{height:70px;resize:vertical}.card .err{color:#b91c1c;font-size:12px;min-height:14px}",
    ".legal{padding:2px 10px 6px;font-size:11px;background:#fff;text-align:right}.legal a,.consent a{color:#475569}.legal[hidden]{display:none}",
    ".consent{display:flex;gap:6px;align-items:flex-start;font-size:12px;color:#334155}.consent input{margin:2px 0 0}",
    ".stars{display:flex;gap:4px}.star{border:0;background:none;font-size:24px;cursor:pointer;color:#cbd5e1;padding:0 2px}.star.on{color:#f59e0b}",
    "@media (max-width:480px){.panel{left:0;right:0;bottom:0;top:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}.launcher{right:12px;bottom:12px}}"
  ].join("\n");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // renderMarkdown builds DOM nodes for a small, safe Markdown subset:
  // paragraphs, "- " lists, **bold**, *italic*, `code` and [links](https://...).
  // It never parses HTML: every piece of text becomes a text node.
  function renderInline(parent, text) {
    var re = /(\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|`([^`]+)`|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\))/g;
    var last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[2] !== undefined) parent.appendChild(el("strong", null, m[2]));
      else if (m[3] !== undefined) parent.appendChild(el("em", null, m[3]));
      else if (m[4] !== undefined) parent.appendChild(el("code", null, m[4]));
      else {
        var a = el("a", null, m[5]);
        a.href = m[6];
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow";
        parent.appendChild(a);
      }
      last = re.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderMarkdown(node, text) {
    var blocks = String(text).replace(/\r\n/g, "\n").split(/\n{2,}/);
    blocks.forEach(function (block) {
      var lines = block.split("\n");
      var isList = lines.every(function (l) { return /^\s*([-*]|\d+\.)\s+/.test(l) || !l.trim(); });
      if (isList) {
        var ul = el(/^\s*\d+\./.test(lines[0]) ? "ol" : "ul");
        lines.forEach(function (l) {
          if (!l.trim()) return;
          var li = el("li");
          renderInline(li, l.replace(/^\s*([-*]|\d+\.)\s+/, ""));
          ul.appendChild(li);
        });
        node.appendChild(ul);
        return;
      }
      var p = el("p");
      lines.forEach(function (l, i) {
        if (i > 0) p.appendChild(el("br"));
        renderInline(p, l);
      });
      node.appendChild(p);
    });
  }

  // A custom element host: page rules such as `div { display: none }` do
  // not match it, and its few own styles are set with !important.
  var host = document.createElement("frontdesk-widget");
  host.id = "frontdesk-widget";
  ["display:block", "position:static", "visibility:visible", "opacity:1", "width:0", "height:0", "margin:0", "padding:0", "border:0"].forEach(function (d) {
    var kv = d.split(":");
    host.style.setProperty(kv[0], kv[1], "important");
  });
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el("style", null, CSS));
  }
  var launcher = el("button", "launcher", TEXT.launcher);
  launcher.type = "button";
  launcher.setAttribute("aria-label", TEXT.launcher);
  var badge = el("span", "badge");
  badge.hidden = true;
  launcher.appendChild(badge);
  var panel = el("div", "panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", TEXT.title);
  var head = el("div", "head");
  var title = el("span", "title", TEXT.title);
  var closeBtn = el("button", "x", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", TEXT.close);
  head.appendChild(title);
  head.appendChild(closeBtn);
  var status = el("div", "status");
  status.setAttribute("aria-live", "polite");
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var foot = el("form", "foot");
  var input = el("textarea", "input");
  input.rows = 1;
  input.placeholder = TEXT.placeholder;
  input.setAttribute("aria-label", TEXT.placeholder);
  input.maxLength = 2000;
  var sendBtn = el("button", "send", TEXT.send);
  sendBtn.type = "submit";
  var attachBtn = el("button", "attach", "📎");
  attachBtn.type = "button";
  attachBtn.setAttribute("aria-label", TEXT.attach);
  attachBtn.title = TEXT.attach;
  var fileInput = el("input");
  fileInput.type = "file";
  fileInput.accept = "image/png,image/jpeg,image/gif,application/pdf,text/plain";
  fileInput.hidden = true;
  foot.appendChild(attachBtn);
  foot.appendChild(fileInput);
  foot.appendChild(input);
  foot.appendChild(sendBtn);
  panel.appendChild(head);
  // PIPL art. 24: visitors are told they talk to an automated assistant
  // until a person joins (hidden while an agent is assigned).
  var botNote = el("div", "botnote", TEXT.bot_notice);
  panel.appendChild(botNote);
  function setAgentJoined(joined) { botNote.hidden = !!joined; }
  var queueBar = el("div", "queue");
  queueBar.setAttribute("aria-live", "polite");
  var typingBar = el("div", "typing");
  panel.appendChild(status);
  panel.appendChild(queueBar);
  panel.appendChild(log);
  panel.appendChild(typingBar);
  panel.appendChild(foot);
  // The site's privacy notice (GDPR art. 13, PIPL art. 17), when it set one.
  var legal = el("div", "legal");
  legal.hidden = true;
  panel.appendChild(legal);
  var noticeURL = "";
  function setNotice(u) {
    noticeURL = safeNoticeURL(u);
    legal.textContent = "";
    legal.hidden = !noticeURL;
    if (noticeURL) legal.appendChild(noticeLink());
  }
  function safeNoticeURL(u) {
    try { var x = new URL(String(u || "")); return x.protocol === "https:" ? x.href : ""; } catch (e) { return ""; }
  }
  function noticeLink() {
    var a = el("a", null, TEXT.privacy);
    a.href = noticeURL; a.target = "_blank"; a.rel = "noopener noreferrer";
    return a;
  }
  root.appendChild(launcher);
  root.appendChild(panel);

  // --- state ---
  var token = load("token");
  var ws = null;
  var connected = false;
  var retry = 0;
  var convId = null;
  var lastSeq = 0;
  var seen = {};       // "conversation:seq" -> true (seq restarts in each conversation)
  var pending = [];    // {id, text, node}
  var pendingById = {};
  var unread = 0;
  var replayedUpTo = 0; // messages up to this seq were already seen before this page
  var listeners = {};
  var baseTitle = document.title;
  var greeted = false;
  var started = false;

  function emit(name, data) {
    (listeners[name] || []).slice().forEach(function (fn) { try { fn(data); } catch (e) { /* a listener's error is its own */ } });
  }

  function isOpen() { return panel.className.indexOf("open") >= 0; }

  // Messages not yet acknowledged survive page navigation: they are kept in
  // sessionStorage and sent again (with the same client ids) after a reload.
  function savePending() {
    try { sessionStorage.setItem(storeKey + "pending", JSON.stringify(pending.map(function (p) { return { id: p.id, text: p.text }; }))); } catch (e) { /* private mode */ }
  }

  function restorePending() {
    var saved;
    try { saved = JSON.parse(sessionStorage.getItem(storeKey + "pending") || "[]"); } catch (e) { saved = []; }
    saved.forEach(function (p) {
      if (!p || !p.id || pendingById[p.id]) return;
      var node = el("div", "msg visitor pending", p.text);
      log.appendChild(node);
      var item = { id: p.id, text: p.text, node: node };
      pending.push(item);
      pendingById[p.id] = item;
    });
  }

  var audioCtx = null;
  function beep() {
    try {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return;
      audioCtx = audioCtx || new AC();
      var o = audioCtx.createOscillator(), g = audioCtx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.05;
      o.connect(g); g.connect(audioCtx.destination);
      o.start(); o.stop(audioCtx.currentTime + 0.12);
    } catch (e) { /* no sound, no harm */ }
  }

  function setUnread(n) {
    unread = n;
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.hidden = n === 0;
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
    emit("unread", n);
  }

  var readSent = 0, readTimer = null;
  function markRead() {
    if (!convId || !isOpen() || document.hidden || lastSeq <= readSent) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (lastSeq > readSent && sendFrame({ type: "read", conversation_id: convId, seq: lastSeq })) readSent = lastSeq;
    }, 300);
  }

  function showRead(seq) {
    var old = log.querySelector(".read");
    if (old) old.remove();
    var mine = log.querySelectorAll(".msg.visitor[data-conv='" + convId + "']");
    var last = null;
    for (var i = 0; i < mine.length; i++) if (+mine[i].getAttribute("data-seq") <= seq) last = mine[i];
    if (last && !last.nextSibling) log.appendChild(el("div", "read", TEXT.read));
    else if (last) last.parentNode.insertBefore(el("div", "read", TEXT.read), last.nextSibling);
  }

  function notifyIncoming(f) {
    emit("message", { sender: f.sender, text: f.text, seq: f.seq });
    if (!isOpen() || document.hidden) {
      setUnread(unread + 1);
      beep();
    }
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function setStatus(text) {
    status.textContent = text || "";
    status.className = text ? "status show" : "status";
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function clearQuickReplies() {
    var old = log.querySelectorAll(".qrs");
    for (var i = 0; i < old.length; i++) old[i].remove();
  }

  function renderMessage(f) {
    if (f.seq && seen[f.conversation_id + ":" + f.seq]) return;
    if (f.seq) { seen[f.conversation_id + ":" + f.seq] = true; if (f.conversation_id === convId && f.seq > lastSeq) lastSeq = f.seq; }
    if (f.sender === "visitor" && f.client_msg_id && pendingById[f.client_msg_id]) {
      var p = pendingById[f.client_msg_id];
      p.node.className = "msg visitor";
      placeBySeq(p.node, f);
      return;
    }
    if (f.kind === "event" && !f.text) return;
    if (f.sender === "bot") {
      var streams = log.querySelectorAll(".msg.streaming");
      for (var si = 0; si < streams.length; si++) streams[si].remove();
    }
    clearQuickReplies();
    if (f.sender !== "visitor") { typingBar.textContent = ""; }
    if (f.event && f.event.name === "status") { setAgentJoined(f.event.to === "assigned"); withPeople(f.event.to); }
    if (f.event && f.event.name === "status" && f.event.to !== "queued") {
      queueBar.className = "queue";
      var offer = log.querySelector(".leave");
      if (offer && f.event.to === "assigned") offer.remove();
    }
    var cls = f.sender === "visitor" ? "visitor" : f.sender === "agent" ? "agent" : f.sender === "system" ? "system" : "bot";
    if ((cls === "bot" || cls === "agent") && f.seq > replayedUpTo) notifyIncoming(f);
    var node;
    if (f.kind === "file" && f.file) {
      node = fileNode(f, cls);
    } else if (cls === "bot" || cls === "agent") {
      node = el("div", "msg " + cls);
      renderMarkdown(node, f.text || "");
    } else {
      node = el("div", "msg " + cls, f.text);
    }
    node.setAttribute("data-sender", f.sender);
    placeBySeq(node, f);
    var after = node;
    function attach(x) { after.parentNode.insertBefore(x, after.nextSibling); after = x; }
    if (f.coupon) attach(couponCard(f.coupon));
    if (f.card) attach(richCard(f.card));
    if (f.ask_feedback && f.seq > replayedUpTo) attach(feedbackRow(f));
    if (cls === "bot") attach(humanLink());
    if (f.event && f.event.name === "offer_ticket" && !log.querySelector(".leave")) attach(leaveForm());
    // Only a conversation a person handled is rated (not one closed from the
    // bot or the queue: a left message, an idle close).
    if (f.event && f.event.name === "status" && f.event.to === "closed" && f.event.from === "assigned" && !ratedConv[f.conversation_id] && !log.querySelector(".rate[data-conv='" + f.conversation_id + "']")) {
      attach(rateCard(f.conversation_id));
    }
    if (f.event && f.event.name === "rating") {
      ratedConv[f.conversation_id] = true;
      var rc = log.querySelector(".rate[data-conv='" + f.conversation_id + "']");
      if (rc) rc.remove();
    }
    if (f.quick_replies && f.quick_replies.length) {
      var box = el("div", "qrs");
      f.quick_replies.forEach(function (q) {
        var b = el("button", "qr", q);
        b.type = "button";
        b.addEventListener("click", function () { sendText(q); });
        box.appendChild(b);
      });
      attach(box);
    }
    scroll();
  }

  // withPeople removes the "Talk to a person" offers once the conversation
  // is waiting for or with a person (status queued or assigned).
  function withPeople(status) {
    if (status !== "queued" && status !== "assigned") return;
    var links = log.querySelectorAll(".human");
    for (var i = 0; i < links.length; i++) links[i].remove();
  }

  // humanLink is the "Talk to a person" offer under every bot reply: it sends
  // a human request, which the bot hands off.
  function humanLink() {
    var b = el("button", "human", TEXT.human);
    b.type = "button";
    b.addEventListener("click", function () { sendText(TEXT.human); });
    return b;
  }

  // convOrder numbers the conversations this page has shown, in the order it
  // met them: seq restarts at 1 in each conversation, so messages are
  // ordered by (conversation, seq) and a new conversation starts below the
  // old one.
  var convOrder = {}, convCount = 0;
  function orderKey(conv, seq) {
    if (!(conv in convOrder)) convOrder[conv] = ++convCount;
    return convOrder[conv] * 1e9 + seq;
  }

  // placeBySeq marks node as message f and puts it in order: before the
  // first message with a higher (conversation, seq), and before messages
  // still waiting for their ack (which stay at the bottom until the server
  // gives them a seq).
  function placeBySeq(node, f) {
    var key = orderKey(f.conversation_id || convId || "", f.seq);
    node.setAttribute("data-seq", f.seq);
    node.setAttribute("data-conv", f.conversation_id || convId || "");
    node.setAttribute("data-key", key);
    var kids = log.children;
    for (var i = 0; i < kids.length; i++) {
      var k = kids[i];
      if (k === node) continue;
      var kk = k.getAttribute("data-key");
      if ((kk && +kk > key) || (!kk && k.className.indexOf("pending") >= 0)) {
        log.insertBefore(node, k);
        return;
      }
    }
    log.appendChild(node);
  }

  var ratedConv = {};

  function safeURL(u) {
    try { var x = new URL(u, location.href); return (x.protocol === "https:" || x.protocol === "http:") ? x.href : null; } catch (e) { return null; }
  }

  function fetchFile(file) {
    return fetch(origin + "/api/v1/visitor/files/" + encodeURIComponent(file.id) + "?site_key=" + encodeURIComponent(siteKey), {
      headers: { Authorization: "Bearer " + token }, credentials: "omit"
    }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.blob(); });
  }

  function fileNode(f, cls) {
    var node = el("div", "msg file " + cls);
    var file = f.file;
    if (/^image\/(png|jpeg|gif)$/.test(file.content_type)) {
      var img = el("img");
      img.alt = file.name;
      node.appendChild(img);
      fetchFile(file).then(function (b) { img.src = URL.createObjectURL(b); }).catch(function () { img.replaceWith(el("span", null, file.name)); });
    } else {
      var b = el("button", null, "📄 " + file.name + " (" + Math.ceil(file.size / 1024) + " KB)");
      b.type = "button";
      b.title = TEXT.download;
      b.addEventListener("click", function () {
        fetchFile(file).then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = file.name;
          a.click();
          setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
        });
      });
      node.appendChild(b);
    }
    return node;
  }

  function upload(file) {
    if (!file) return;
    var id = newId();
    var node = el("div", "msg visitor pending", TEXT.uploading + " " + file.name);
    log.appendChild(node);
    scroll();
    var form = new FormData();
    form.append("client_msg_id", id);
    form.append("file", file);
    var go = token ? Promise.resolve() : session();
    go.then(function () {
      return fetch(origin + "/api/v1/visitor/uploads?site_key=" + encodeURIComponent(siteKey), {
        method: "POST", body: form, headers: { Authorization: "Bearer " + token }, credentials: "omit"
      });
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || r.status); return j; });
    }).then(function (j) {
      node.remove();
      /* the message frame brings the file */
    }).catch(function (e) {
      node.className = "msg visitor failed";
      node.textContent = TEXT.upload_failed + e.message;
    });
  }

  function couponCard(c) {
    var card = el("div", "coupon");
    card.appendChild(el("strong", null, c.title || ""));
    if (c.description) card.appendChild(el("div", null, c.description));
    card.appendChild(el("div", "code", c.code || ""));
    if (c.expires_at) card.appendChild(el("div", null, c.expires_at));
    var b = el("button", "qr", TEXT.copy);
    b.type = "button";
    b.addEventListener("click", function () {
      if (navigator.clipboard) navigator.clipboard.writeText(c.code || "").catch(function () {});
      b.textContent = TEXT.copied;
      emit("coupon", c.code);
      invitationClicked();
    });
    card.appendChild(b);
    return card;
  }

  function richCard(c) {
    var card = el("div", "card");
    var img = c.image_url && safeURL(c.image_url);
    if (img) { var i = el("img"); i.src = img; i.alt = c.title || ""; card.appendChild(i); }
    card.appendChild(el("h3", null, c.title || ""));
    if (c.text) card.appendChild(el("div", null, c.text));
    var href = c.button && safeURL(c.button.url);
    if (href) {
      var a = el("a", "btn", c.button.label || href);
      a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer nofollow";
      card.appendChild(a);
    }
    return card;
  }

  function feedbackRow(f) {
    var row = el("div", "fb");
    row.appendChild(el("span", null, TEXT.helpful));
    [[true, TEXT.yes], [false, TEXT.no]].forEach(function (o) {
      var b = el("button", "fb-" + (o[0] ? "yes" : "no"), o[1]);
      b.type = "button";
      b.addEventListener("click", function () {
        sendFrame({ type: "feedback", conversation_id: f.conversation_id, seq: f.seq, helpful: o[0] });
        row.replaceWith(el("div", "fb", TEXT.thanks));
      });
      row.appendChild(b);
    });
    return row;
  }

  function field(ph, type, name) {
    var i = el(type === "textarea" ? "textarea" : "input");
    if (type !== "textarea") i.type = type;
    i.placeholder = ph;
    i.setAttribute("aria-label", ph);
    i.name = name;
    return i;
  }

  function leaveForm() {
    var card = el("form", "card leave");
    card.appendChild(el("h3", null, TEXT.leave_title));
    var name = field(TEXT.name, "text", "name"), email = field(TEXT.email, "email", "email"),
      phone = field(TEXT.phone, "tel", "phone"), msg = field(TEXT.message, "textarea", "message");
    name.maxLength = 100; email.maxLength = 254; phone.maxLength = 32; msg.maxLength = 2000;
    [name, email, phone, msg].forEach(function (x) { card.appendChild(x); });
    var err = el("div", "err");
    var send = el("button", "send", TEXT.leave_send);
    send.type = "submit";
    card.appendChild(err);
    card.appendChild(send);
    card.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!msg.value.trim() || (!email.value.trim() && !phone.value.trim())) { err.textContent = TEXT.email + " / " + TEXT.message + " ?"; return; }
      leaveCard = card;
      leaveErr = err;
      sendFrame({ type: "leave_message", name: name.value, email: email.value, phone: phone.value, text: msg.value });
    });
    return card;
  }
  var leaveCard = null, leaveErr = null;

  function rateCard(conv) {
    var card = el("div", "card rate");
    card.setAttribute("data-conv", conv);
    card.appendChild(el("h3", null, TEXT.rate_title));
    var row = el("div", "stars");
    for (var n = 1; n <= 5; n++) {
      (function (n) {
        var b = el("button", "star", "★");
        b.type = "button";
        b.setAttribute("data-score", n);
        b.setAttribute("aria-label", TEXT.stars.replace("{n}", n));
        b.addEventListener("click", function () {
          var stars = row.querySelectorAll(".star");
          for (var i = 0; i < stars.length; i++) stars[i].className = i < n ? "star on" : "star";
          sendFrame({ type: "rate", conversation_id: conv, score: n });
        });
        row.appendChild(b);
      })(n);
    }
    card.appendChild(row);
    return card;
  }

  function sendFrame(obj) {
    if (ws && connected) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function sendText(text) {
    text = (text || "").trim();
    if (!text) return;
    invitationClicked();
    var id = newId();
    var node = el("div", "msg visitor pending", text);
    log.appendChild(node);
    clearQuickReplies();
    scroll();
    var p = { id: id, text: text, node: node };
    pending.push(p);
    pendingById[id] = p;
    savePending();
    sendFrame({ type: "message", client_msg_id: id, text: text });
  }

  function onAck(f) {
    var p = pendingById[f.client_msg_id];
    if (!p) return;
    p.node.className = "msg visitor";
    switchConv(f.conversation_id);
    placeBySeq(p.node, f);
    seen[f.conversation_id + ":" + f.seq] = true;
    if (f.seq > lastSeq) lastSeq = f.seq;
    pending = pending.filter(function (x) { return x.id !== f.client_msg_id; });
    delete pendingById[f.client_msg_id];
    savePending();
  }

  // switchConv makes id the current conversation: its seq, and so the
  // last seq seen and read, start again from 0.
  // While a conversation is open the widget connects on every page load,
  // so agent replies reach the unread badge; otherwise only when the
  // visitor opens it (docs/widget.md, "Privacy").
  function rememberOpenConv(isOpenConv) { if (isOpenConv) save("open-conv", "1"); else drop("open-conv"); }

  function switchConv(id) {
    if (!id || id === convId) return;
    convId = id;
    lastSeq = 0;
    readSent = 0;
  }

  var typingTimer = null;

  function onError(f) {
    if (leaveCard && leaveErr && !f.client_msg_id && f.code !== "rate_limited") { leaveErr.textContent = f.message; }
    if (f.client_msg_id && pendingById[f.client_msg_id]) {
      var p = pendingById[f.client_msg_id];
      if (f.code === "internal" || f.code === "unavailable" || f.code === "rate_limited") {
        p.node.className = "msg visitor pending failed";
        p.node.title = TEXT.failed;
        setTimeout(function () { sendFrame({ type: "message", client_msg_id: p.id, text: p.text }); }, 2000);
        return;
      }
      p.node.className = "msg visitor failed";
      p.node.title = f.message;
      pending = pending.filter(function (x) { return x.id !== p.id; });
      delete pendingById[p.id];
      savePending();
    }
  }

  function onFrame(f) {
    switch (f.type) {
      case "hello":
        setAgentJoined(f.status === "assigned");
        rememberOpenConv(f.conversation_id && f.status !== "closed");
        if (!replayedUpTo && f.last_seq) replayedUpTo = f.last_seq;
        if (f.conversation_id) {
          switchConv(f.conversation_id);
          sendFrame({ type: "resume", conversation_id: f.conversation_id, last_seq: lastSeq });
        }
        // Queued events first: a privacy_consent precedes the details it covers.
        trackQueue.splice(0).forEach(function (t) { sendFrame(t); });
        sendIdentity();
        // Messages typed while offline are sent now with their original ids.
        pending.forEach(function (p) { sendFrame({ type: "message", client_msg_id: p.id, text: p.text }); });
        break;
      case "conversation":
        setAgentJoined(f.status === "assigned");
        rememberOpenConv(f.status !== "closed");
        withPeople(f.status);
        switchConv(f.conversation_id);
        break;
      case "ack": onAck(f); break;
      case "read": showRead(f.seq); break;
      case "bot_token":
        // A generated answer streams in; the stored message replaces it.
        var live = log.querySelector(".msg.streaming[data-reply-to='" + f.reply_to + "']");
        if (!live) {
          live = el("div", "msg bot streaming", "");
          live.setAttribute("data-reply-to", f.reply_to);
          log.appendChild(live);
        }
        live.textContent += f.text || "";
        scroll();
        break;
      case "position":
        var txt = TEXT.position.replace("{n}", f.position);
        if (f.estimated_wait_seconds > 0) txt += TEXT.eta.replace("{m}", Math.max(1, Math.round(f.estimated_wait_seconds / 60)));
        queueBar.textContent = txt;
        queueBar.className = "queue show";
        break;
      case "typing":
        typingBar.textContent = TEXT.typing;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typingBar.textContent = ""; }, 3000);
        break;
      case "ticket":
        if (leaveCard) { leaveCard.replaceWith(el("div", "msg system", TEXT.leave_done)); leaveCard = null; }
        break;
      case "rated":
        ratedConv[f.conversation_id] = true;
        var card = log.querySelector(".rate[data-conv='" + f.conversation_id + "']");
        if (card) card.replaceWith(el("div", "msg system", TEXT.rate_thanks));
        break;
      case "message": renderMessage(f); markRead(); break;
      case "error": onError(f); break;
    }
  }

  // identityToken is a site-signed identity JWT waiting to be presented;
  // it is used once, in the next session call (docs/protocol.md).
  var identityToken = "";
  function session() {
    var presented = identityToken;
    return fetch(origin + "/api/v1/visitor/sessions?site_key=" + encodeURIComponent(siteKey), {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ site_key: siteKey, token: token || "", identity_token: presented })
    }).then(function (r) {
      if (presented && identityToken === presented) identityToken = "";
      // A refused identity token: go on as the anonymous visitor.
      if (presented && (r.status === 401 || r.status === 403)) return session();
      if (!r.ok) throw new Error("session " + r.status);
      return r.json();
    }).then(function (s) {
      token = s.token;
      save("token", token);
      if (s.site && s.site.name && lang === "en") title.textContent = s.site.name;
      return s;
    });
  }

  function connect() {
    setStatus(retry ? TEXT.offline : TEXT.connecting);
    session().then(function (s) {
      var u = new URL(s.socket_path, origin);
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      u.searchParams.set("token", token);
      // Origin and path only: query strings and fragments carry e-mails,
      // reset tokens and the like (docs/widget.md, "Privacy").
      u.searchParams.set("page", (location.origin + location.pathname).slice(0, 1000));
      ws = new WebSocket(u.toString());
      ws.onopen = function () { connected = true; retry = 0; setStatus(""); };
      ws.onmessage = function (ev) {
        var f;
        try { f = JSON.parse(ev.data); } catch (e) { return; }
        onFrame(f);
      };
      ws.onclose = function () { connected = false; ws = null; reconnect(); };
      ws.onerror = function () { /* onclose follows */ };
    }).catch(function () { reconnect(); });
  }

  var identity = null;
  function identify(who) {
    if (who.token) {
      // Verified: the session call checks the token and may switch to the
      // visitor this customer already is on another device.
      identityToken = String(who.token);
      identity = null;
      // Presented in the next session call: now if connected, otherwise
      // when the visitor opens the chat (identify alone never connects).
      if (ws) ws.close();
      return;
    }
    identity = { id: String(who.id || ""), name: String(who.name || ""), email: String(who.email || ""), phone: String(who.phone || ""), token: String(who.token || "") };
    sendIdentity(); // or on the next hello
  }
  function sendIdentity() {
    return identity && sendFrame({ type: "identify", external_id: identity.id, name: identity.name, email: identity.email, phone: identity.phone });
  }

  var trackHandlers = [];
  var trackQueue = [];
  function track(name, props) {
    if (!name) return;
    var f = { type: "track", name: name.slice(0, 64), props: props };
    if (!sendFrame(f) && trackQueue.length < 50) trackQueue.push(f);
    trackHandlers.forEach(function (h) { h(name, props); });
  }

  // ---- proactive invitations ----
  var shownInvitation = null, clickedInvitation = false;
  function today() { return new Date().toISOString().slice(0, 10); }
  function capKey(inv) { return "inv:" + inv.id + ":" + today(); }
  function globMatch(pattern, path) {
    var re = new RegExp("^" + pattern.split("*").map(function (p) { return p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"); }).join(".*") + "$");
    return re.test(path);
  }
  function invitationClicked() {
    if (shownInvitation && !clickedInvitation) {
      clickedInvitation = true;
      track("invitation_clicked", { invitation: shownInvitation.id });
    }
  }
  function startInvitations(list) {
    if (!list || !list.length) return;
    var pageStart = Date.now(), maxScroll = 0, exitIntent = false, events = {};
    var returning = !!load("seen-before");
    save("seen-before", "1");
    window.addEventListener("scroll", function () {
      var h = document.documentElement.scrollHeight - window.innerHeight;
      var pct = h > 0 ? Math.round(100 * window.scrollY / h) : 100;
      if (pct > maxScroll) { maxScroll = pct; check(); }
    }, { passive: true });
    document.addEventListener("mouseout", function (e) {
      if (!e.relatedTarget && e.clientY <= 0) { exitIntent = true; check(); }
    });
    trackHandlers.push(function (name) {
      events[name] = true;
      if (shownInvitation && shownInvitation.conversion_event === name) {
        track("invitation_converted", { invitation: shownInvitation.id });
      }
      check();
    });
    function due(inv) {
      var w = inv.when || {};
      if (w.url_pattern && !globMatch(w.url_pattern, location.pathname)) return false;
      if (w.seconds_on_page && (Date.now() - pageStart) / 1000 < w.seconds_on_page) return false;
      if (w.scroll_percent && maxScroll < w.scroll_percent) return false;
      if (w.exit_intent && !exitIntent) return false;
      if (w.event && !events[w.event]) return false;
      if (w.returning && !returning) return false;
      return +(load(capKey(inv)) || 0) < (inv.max_per_day || 1);
    }
    function check() {
      if (shownInvitation || isOpen()) return;
      for (var i = 0; i < list.length; i++) {
        if (due(list[i])) { showInvitation(list[i]); return; }
      }
    }
    var timer = setInterval(function () { if (shownInvitation) clearInterval(timer); else check(); }, 1000);
  }
  function showInvitation(inv) {
    shownInvitation = inv;
    save(capKey(inv), String(+(load(capKey(inv)) || 0) + 1));
    open();
    var text = (inv.message && (inv.message[lang] || inv.message.en || inv.message.zh)) || "";
    var node = el("div", "msg bot invitation");
    renderMarkdown(node, text);
    log.appendChild(node);
    if (inv.coupon) log.appendChild(couponCard(inv.coupon));
    scroll();
    track("invitation_shown", { invitation: inv.id });
    emit("invitation", inv.id);
  }

  // ---- pre-chat form ----
  var preChat = null;
  function needPreChat() {
    return preChat && preChat.enabled && !convId && !load("prechat-done") && !log.querySelector(".msg[data-seq]");
  }
  function showPreChat() {
    if (log.querySelector(".prechat")) return;
    var card = el("form", "card prechat");
    card.appendChild(el("h3", null, TEXT.prechat_title));
    var name = field(TEXT.name, "text", "name"), email = field(TEXT.email, "email", "email"), phone = field(TEXT.phone, "tel", "phone");
    name.maxLength = 100; email.maxLength = 254; phone.maxLength = 32;
    [name, email, phone].forEach(function (x) { card.appendChild(x); });
    var topic = null;
    if (preChat.topics && preChat.topics.length) {
      topic = el("select");
      topic.setAttribute("aria-label", TEXT.topic);
      preChat.topics.forEach(function (t) { var o = el("option", null, t); o.value = t; topic.appendChild(o); });
      card.appendChild(topic);
    }
    // The form collects personal data: with a privacy notice set, the
    // visitor confirms having read it, and the consent is recorded.
    var consent = null;
    if (noticeURL) {
      var label = el("label", "consent");
      consent = el("input");
      consent.type = "checkbox";
      consent.name = "privacy_consent";
      consent.setAttribute("aria-required", "true");
      label.appendChild(consent);
      var txt = el("span", null, TEXT.consent + " (");
      txt.appendChild(noticeLink());
      txt.appendChild(document.createTextNode(")"));
      label.appendChild(txt);
      card.appendChild(label);
    }
    var err = el("div", "err");
    var go = el("button", "send", TEXT.start);
    go.type = "submit";
    card.appendChild(err);
    card.appendChild(go);
    foot.hidden = true;
    card.addEventListener("submit", function (e) {
      e.preventDefault();
      if (preChat.require_contact && !email.value.trim() && !phone.value.trim()) { err.textContent = TEXT.email + " / " + TEXT.phone + " ?"; return; }
      if (consent && !consent.checked) { err.textContent = TEXT.consent_needed; consent.focus(); return; }
      if (consent) track("privacy_consent", { notice_url: noticeURL, at: new Date().toISOString() });
      identify({ name: name.value.trim(), email: email.value.trim(), phone: phone.value.trim() });
      if (topic) track("prechat_topic", { topic: topic.value });
      save("prechat-done", "1");
      card.remove();
      foot.hidden = false;
      input.focus();
    });
    log.appendChild(card);
  }

  function start() {
    if (started) return;
    started = true;
    connect();
  }

  function reconnect() {
    retry++;
    var delay = Math.min(30000, 500 * Math.pow(2, Math.min(retry, 6))) * (0.5 + Math.random() / 2);
    setStatus(TEXT.offline);
    setTimeout(connect, delay);
  }

  function open() {
    panel.className = "panel open";
    launcher.style.display = "none";
    if (!greeted && !log.querySelector(".msg")) {
      greeted = true;
      log.appendChild(el("div", "msg bot", TEXT.greeting));
    }
    start();
    if (needPreChat()) showPreChat();
    input.focus();
    setUnread(0);
    markRead();
    emit("open");
  }

  function close() {
    panel.className = "panel";
    launcher.style.display = "";
    launcher.focus();
    emit("close");
  }

  launcher.addEventListener("click", open);
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
  foot.addEventListener("submit", function (e) {
    e.preventDefault();
    sendText(input.value);
    input.value = "";
  });
  attachBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files[0]) upload(fileInput.files[0]);
    fileInput.value = "";
  });
  var lastTyping = 0;
  input.addEventListener("input", function () {
    if (Date.now() - lastTyping > 2500) { lastTyping = Date.now(); sendFrame({ type: "typing" }); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText(input.value);
      input.value = "";
    }
  });

  document.addEventListener("visibilitychange", function () { if (!document.hidden && isOpen()) { setUnread(0); markRead(); } });

  function loadConfig() {
    fetch(origin + "/api/v1/visitor/config?site_key=" + encodeURIComponent(siteKey), { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (cfg) {
        if (!cfg) return;
        if (cfg.name && lang === "en") title.textContent = cfg.name;
        preChat = cfg.widget && cfg.widget.pre_chat;
        setNotice(cfg.widget && cfg.widget.privacy_notice_url);
        if (isOpen() && needPreChat()) showPreChat();
        startInvitations(cfg.widget && cfg.widget.invitations);
      })
      .catch(function () { /* the chat works without its settings */ });
  }

  function mount() {
    document.body.appendChild(host);
    restorePending();
    // A returning visitor connects on page load only with a conversation
    // open (its replies must reach the badge) or messages waiting to be
    // sent; otherwise when the chat is opened — no socket, no page_view.
    if (pending.length || token && load("open-conv")) start();
    loadConfig();
    emit("ready");
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // The public API. Everything else stays inside this closure.
  var api = {
    __loaded: true,
    // renderedAt is when the launcher appeared, in ms since navigation start.
    renderedAt: window.performance ? Math.round(performance.now()) : 0,
    open: open,
    close: close,
    // on subscribes to "open", "close", "message", "unread" and "ready"; it returns an unsubscribe function.
    on: function (name, fn) {
      if (typeof fn !== "function") return function () {};
      (listeners[name] = listeners[name] || []).push(fn);
      return function () { listeners[name] = (listeners[name] || []).filter(function (x) { return x !== fn; }); };
    },
    // track reports a page event (e.g. "added_to_cart") for proactive invitations and analytics.
    track: function (name, props) { track(String(name || ""), props || {}); },
    // identify tells Frontdesk who the visitor is; token is a JWT signed by the site's server.
    identify: function (who) { identify(who || {}); }
  };
  var queued = window.Frontdesk && window.Frontdesk.q; // calls made before the script loaded
  window.Frontdesk = api;
  if (queued && queued.forEach) queued.forEach(function (c) { if (api[c[0]]) api[c[0]].apply(null, c[1] || []); });
})();
