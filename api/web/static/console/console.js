/* Frontdesk agent console: plain JavaScript, no build step, no third-party
 * requests. Every piece of conversation text is inserted as text, never HTML. */
(function () {
  "use strict";

  var zh = (localStorage.getItem("fd-console-lang") || navigator.language || "en").toLowerCase().indexOf("zh") === 0;
  var T = {
    signin: ["Sign in to Frontdesk", "登录客服工作台"], email: ["E-mail", "邮箱"], password: ["Password", "密码"],
    login: ["Sign in", "登录"], logout: ["Sign out", "退出"], queue: ["Queue", "排队"], mine: ["Mine", "我的会话"],
    tickets: ["Tickets", "工单"], accept: ["Accept", "接入"], online: ["Online", "在线"], away: ["Away", "离开"],
    empty_queue: ["Nobody is waiting.", "暂无排队访客。"], empty_mine: ["No conversations assigned to you.", "暂无分配给您的会话。"],
    pick: ["Pick a conversation on the left.", "请在左侧选择一个会话。"], send: ["Send", "发送"], note: ["Internal note", "内部备注"],
    reply_ph: ["Reply… (type / for canned responses)", "回复…（输入 / 使用快捷回复）"], transfer: ["Transfer", "转接"],
    handback: ["Back to bot", "转回机器人"], close: ["Close", "结束会话"], why: ["Why the bot handed off", "机器人转人工的原因"],
    reason: ["Reason", "原因"], confidence: ["confidence", "置信度"], threshold: ["threshold", "阈值"], candidates: ["top FAQ", "候选问答"],
    visitor: ["Visitor", "访客"], earlier: ["earlier conversations", "历史会话"], waiting: ["waiting", "等待"],
    typing: ["Visitor is typing…", "访客正在输入…"], to_group: ["to team", "转至客服组"], to_agent: ["to agent", "转至客服"],
    transfer_note: ["note for the next agent", "给下一位客服的备注"], go: ["Transfer", "确认转接"], cancel: ["Cancel", "取消"],
    status_all: ["All", "全部"], reply: ["Reply by e-mail", "邮件回复"], add_note: ["Add note", "添加备注"], solve: ["Mark solved", "标记已解决"],
    reopen: ["Reopen", "重新打开"], disconnected: ["reconnecting…", "正在重连…"], lang: ["中文", "English"],
    decision: ["decision", "决策"], rated: ["Rating", "评分"], no_tickets: ["No tickets.", "暂无工单。"],
    from: ["From", "来自"], assigned_to_you: ["Assigned to you", "已分配给您"], bad_login: ["Wrong e-mail or password.", "邮箱或密码错误。"],
    dashboard: ["Dashboard", "数据看板"], last7: ["Last 7 days", "最近 7 天"], last30: ["Last 30 days", "最近 30 天"],
    conversations: ["Conversations", "会话数"], containment: ["Bot containment", "机器人承接率"], handoffs: ["Handoffs", "转人工"],
    frt: ["First response (median / p90)", "首次响应（中位数 / P90）"], wait: ["Queue wait (median / p90)", "排队时长（中位数 / P90）"],
    resolution: ["Resolution (median / p90)", "解决时长（中位数 / P90）"], csat: ["Satisfaction", "满意度"],
    tickets_kpi: ["Tickets opened / solved", "工单 新建 / 已解决"], invitations: ["Invitations shown / clicked / converted", "主动邀请 展示 / 点击 / 转化"],
    volume: ["Conversations per day", "每日会话数"], reasons: ["Handoff reasons", "转人工原因"], ratings: ["Ratings", "评分分布"],
    gaps: ["Questions the bot could not answer", "机器人未能回答的问题"], create_faq: ["Create FAQ entry", "创建问答"], csv: ["Download CSV", "下载 CSV"],
    faq_answer: ["Answer for the new FAQ entry", "新问答的答案"], faq_created: ["FAQ entry created: ", "已创建问答："],
    faq_questions: ["Questions (one per line)", "问题（每行一个）"], faq_skill: ["Team for handoffs on this topic", "此话题转人工的客服组"],
    faq_skill_default: ["default (default_support)", "默认（default_support）"], faq_save: ["Create", "创建"],
    st_bot: ["with the bot", "机器人接待中"], st_queued: ["waiting", "排队中"], st_assigned: ["with an agent", "人工接待中"], st_closed: ["closed", "已结束"],
    notes_only: ["Not your conversation: internal notes only", "非您接待的会话：仅可写内部备注"],
    confirm_close: ["Click again to close", "再次点击以结束会话"],
    bot_resolution: ["Bot resolution", "机器人解决率"],
    no_smtp: ["E-mail is off: this server has no SMTP server (--smtp-addr), so ticket notifications and replies are not sent. Waiting e-mails: ", "邮件未开启：本服务器未配置 SMTP（--smtp-addr），工单通知与回复不会发出。待发送邮件："],
    no_email: ["No e-mail address was left: call the visitor and record the call as a note.", "访客未留邮箱：请致电访客，并将通话记录为备注。"],
    pw: ["Password", "修改密码"], pw_current: ["Current password", "当前密码"], pw_new: ["New password (at least 10 characters)", "新密码（至少 10 个字符）"],
    knowledge: ["Knowledge", "知识库"], kb_search: ["Search entries", "搜索问答"], kb_new: ["New entry", "新建问答"],
    kb_pick: ["Pick an entry on the left, or try a question below.", "请在左侧选择一个问答，或在下方试一试。"],
    kb_file: ["File", "文件"], kb_answer: ["Answer", "答案"], kb_tags: ["Tags (comma-separated)", "标签（用逗号分隔）"],
    kb_save: ["Save", "保存"], kb_saved: ["Saved: the bot answers with it now.", "已保存，机器人现在使用此内容回答。"],
    kb_delete: ["Delete", "删除"], kb_confirm_delete: ["Click again to delete", "再次点击以删除"], kb_deleted: ["FAQ entry deleted: ", "已删除问答："],
    kb_readonly: ["Read-only: ", "只读："],
    ro_starter: ["this entry is part of the built-in demo set. Start the server with --kb DIR to edit FAQ entries.", "此问答属于内置演示知识库。使用 --kb DIR 启动服务器后即可编辑问答。"],
    ro_single_file: ["the server's knowledge is the single file {file}: edit that file, or start the server with --kb DIR.", "服务器的知识库是单个文件 {file}：请编辑该文件，或使用 --kb DIR 启动服务器。"],
    ro_multi_entry_file: ["this entry comes from {file}, a file with several entries: edit that file, or convert it to one Markdown file per entry (frontdesk kb import).", "此问答来自包含多个问答的文件 {file}：请编辑该文件，或将其转换为每个问答一个 Markdown 文件（frontdesk kb import）。"], kb_more_answers: ["Further answers of this entry (kept as they are): ", "此问答的其他答案（保持不变）："],
    kb_none: ["No entries match.", "没有匹配的问答。"], kb_more: [" more: refine the search", " 条未显示，请细化搜索"],
    kb_problems: ["Problems in the knowledge base", "知识库中的问题"], kb_try: ["Try a question", "试一试"], kb_try_go: ["Try", "试一试"],
    kb_try_ph: ["A question, as a visitor would ask it", "像访客一样输入一个问题"], kb_margin: ["margin", "差距"],
    verdict_answer: ["The bot answers with the first entry", "机器人将用第一个问答回答"],
    verdict_clarify: ["The bot asks which of these entries is meant", "机器人将询问访客指的是哪一个问答"],
    verdict_fallback: ["The bot finds no answer (fallback)", "机器人找不到答案（兜底回复）"],
    pw_again: ["New password again", "再次输入新密码"], pw_mismatch: ["The new passwords differ.", "两次输入的新密码不一致。"],
    pw_done: ["Password changed. Your other sessions were signed out.", "密码已修改，您在其他设备上的登录已退出。"], pw_save: ["Change password", "修改密码"]
  };
  function t(k) { var v = T[k]; return v ? v[zh ? 1 : 0] : k; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  // renderMarkdown draws the same safe Markdown subset as the widget
  // (paragraphs, lists, **bold**, *italic*, `code`, [links](https://...)),
  // so the agent sees a bot or agent message as the visitor sees it. It
  // never parses HTML: every piece of text becomes a text node.
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
    String(text).replace(/\r\n/g, "\n").split(/\n{2,}/).forEach(function (block) {
      var lines = block.split("\n");
      var isList = lines.every(function (l) { return /^\s*([-*]|\d+\.)\s+/.test(l) || !l.trim(); });
      if (isList) {
        var list = el(/^\s*\d+\./.test(lines[0]) ? "ol" : "ul");
        lines.forEach(function (l) {
          if (!l.trim()) return;
          var li = el("li");
          renderInline(li, l.replace(/^\s*([-*]|\d+\.)\s+/, ""));
          list.appendChild(li);
        });
        node.appendChild(list);
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
  function btn(text, cls, onclick) {
    var b = el("button", cls, text);
    b.type = "button";
    if (onclick) b.addEventListener("click", onclick);
    return b;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  var app = document.getElementById("app");
  var baseTitle = document.title;
  var state = {
    me: null, csrf: "", presence: "online", queues: {}, mine: {}, current: null, details: null,
    messages: {}, tab: "queue", groups: [], agents: [], canned: [], ws: null, retry: 0, tickets: [], ticketFilter: "open",
    unread: {} // conversation id -> visitor messages (or a new assignment) the agent has not looked at
  };

  function api(method, path, body) {
    var opts = { method: method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (j) {
        if (!r.ok) { var e = new Error((j && j.error && j.error.message) || r.statusText); e.status = r.status; e.code = j && j.error && j.error.code; throw e; }
        return j;
      });
    });
  }

  // ---------- sign in ----------
  function showLogin(message) {
    clear(app);
    var box = el("form", "login");
    box.appendChild(el("h1", null, t("signin")));
    var l1 = el("label", null, t("email")); var email = el("input"); email.type = "email"; email.name = "email"; email.autocomplete = "username"; email.required = true;
    var l2 = el("label", null, t("password")); var pw = el("input"); pw.type = "password"; pw.name = "password"; pw.autocomplete = "current-password"; pw.required = true;
    l1.appendChild(email); l2.appendChild(pw);
    box.appendChild(l1); box.appendChild(l2);
    var actions = el("div", "actions");
    var submit = el("button", "primary", t("login")); submit.type = "submit";
    actions.appendChild(submit);
    actions.appendChild(btn(t("lang"), null, function () { switchLang(); showLogin(); }));
    box.appendChild(actions);
    var err = el("div", "error", message || "");
    box.appendChild(err);
    box.addEventListener("submit", function (e) {
      e.preventDefault();
      submit.disabled = true;
      api("POST", "/api/v1/agent/login", { email: email.value, password: pw.value }).then(function (me) {
        start(me);
      }).catch(function (e2) {
        submit.disabled = false;
        err.textContent = e2.status === 401 ? t("bad_login") : e2.message;
      });
    });
    app.appendChild(box);
    email.focus();
  }

  // Codes the server sends, shown in the console's language (the code itself
  // when there is no text for it).
  var CODES = {
    explicit_request: ["asked for a person", "访客要求转人工"], low_confidence: ["the bot found no answer", "机器人未找到答案"],
    frustration: ["visitor frustrated", "访客情绪不满"], human_only: ["needs a person", "需人工处理"],
    repeated_fallback: ["the bot did not understand twice", "机器人多次未理解"], repeated_unhelpful: ["answers marked unhelpful", "回答被标记为无帮助"],
    webhook_failed: ["order lookup failed", "订单查询失败"], flow_gave_up: ["could not collect the details", "未能收集到所需信息"],
    llm_no_answer: ["no answer in the knowledge base", "知识库中没有答案"], out_of_scope: ["out of scope", "超出服务范围"],
    open: ["open", "待处理"], pending: ["pending", "等待回复"], solved: ["solved", "已解决"],
    ticket_reply: ["reply by e-mail", "邮件回复"], ticket_note: ["internal note", "内部备注"], ticket_status: ["status", "状态"],
    sender_visitor: ["Visitor", "访客"], sender_bot: ["Bot", "机器人"], sender_system: ["System", "系统"], sender_agent: ["Agent", "客服"]
  };
  function code(c) { var x = CODES[c]; return x ? x[zh ? 1 : 0] : c; }
  function groupName(id) { var g = state.groups.filter(function (x) { return x.id === id; })[0]; return g ? g.name : id; }
  function agentName(id) { var a = state.agents.filter(function (x) { return x.id === id; })[0]; return a ? a.name : ""; }

  function switchLang() { zh = !zh; localStorage.setItem("fd-console-lang", zh ? "zh" : "en"); document.documentElement.lang = zh ? "zh-CN" : "en"; }

  // ---------- main layout ----------
  var ui = {};
  function start(me) {
    state.me = me.agent; state.csrf = me.csrf_token; state.presence = me.presence || "online";
    document.documentElement.lang = zh ? "zh-CN" : "en";
    ui.kbTry = null; // redrawn in the new language
    clear(app);
    var top = el("div", "top");
    top.appendChild(el("span", "brand", "Frontdesk"));
    ui.conn = el("span", "conn", "");
    top.appendChild(ui.conn);
    top.appendChild(el("span", null, state.me.name));
    ui.presence = btn("", "presence", function () {
      var next = state.presence === "away" ? "online" : "away";
      api("POST", "/api/v1/agent/presence", { status: next }).then(function (r) { state.presence = r.presence; renderPresence(); });
    });
    top.appendChild(ui.presence);
    top.appendChild(btn(t("lang"), null, function () { switchLang(); start({ agent: state.me, csrf_token: state.csrf, presence: state.presence }); }));
    top.appendChild(btn(t("pw"), "pw-btn", showPasswordForm));
    top.appendChild(btn(t("logout"), null, function () {
      api("POST", "/api/v1/agent/logout").finally(function () { if (state.ws) state.ws.close(); location.reload(); });
    }));
    app.appendChild(top);
    var main = el("div", "main");
    var side = el("div", "side");
    var tabs = el("div", "tabs");
    ui.tabs = {};
    var tabNames = ["queue", "mine", "tickets"];
    if (state.me.role === "admin" || state.me.role === "editor") tabNames.push("dashboard", "knowledge");
    tabNames.forEach(function (k) {
      var b = btn(t(k), "", function () {
        state.tab = k; renderSide();
        if (k === "tickets") loadTickets();
        if (k === "dashboard") showDashboard(7);
        if (k === "knowledge") showKnowledge(null);
      });
      b.setAttribute("data-tab", k);
      ui.tabs[k] = b;
      tabs.appendChild(b);
    });
    side.appendChild(tabs);
    ui.list = el("div", "list");
    side.appendChild(ui.list);
    main.appendChild(side);
    ui.pane = el("div", "pane");
    main.appendChild(ui.pane);
    app.appendChild(main);
    renderPresence();
    renderPane();
    api("GET", "/api/v1/agent/groups").then(function (r) { state.groups = r.groups; });
    api("GET", "/api/v1/agent/canned").then(function (r) { state.canned = r.canned || []; });
    api("GET", "/api/v1/agent/agents").then(function (r) { state.agents = r.agents || []; });
    connect();
    setInterval(function () {
      var subs = ui.list.querySelectorAll("[data-queued]");
      for (var i = 0; i < subs.length; i++) {
        subs[i].textContent = t("reason") + ": " + subs[i].getAttribute("data-reason") + " · " + t("waiting") + " " + ago(subs[i].getAttribute("data-queued"));
      }
    }, 1000);
  }

  function renderPresence() {
    ui.presence.textContent = "● " + t(state.presence === "away" ? "away" : "online");
    ui.presence.className = "presence " + state.presence;
  }

  // ---------- real time ----------
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + location.host + "/api/v1/agent/ws");
    state.ws = ws;
    ws.onopen = function () { state.retry = 0; ui.conn.textContent = ""; };
    ws.onmessage = function (ev) { var f; try { f = JSON.parse(ev.data); } catch (e) { return; } onFrame(f); };
    ws.onclose = function () {
      state.ws = null;
      ui.conn.textContent = t("disconnected");
      state.retry++;
      setTimeout(function () {
        api("GET", "/api/v1/agent/me").then(function () { connect(); }).catch(function (e) { if (e.status === 401) showLogin(); else connect(); });
      }, Math.min(15000, 500 * Math.pow(2, state.retry)));
    };
  }
  function send(f) { if (state.ws && state.ws.readyState === 1) { state.ws.send(JSON.stringify(f)); return true; } return false; }

  function onFrame(f) {
    switch (f.type) {
      case "hello":
        state.me = f.agent;
        state.queues = {};
        (f.queues || []).forEach(function (q) { state.queues[q.group] = q; });
        state.mine = {};
        (f.assigned || []).forEach(function (c) { state.mine[c.id] = c; });
        if (state.current) send({ type: "watch", conversation_id: state.current, last_seq: lastSeq(state.current) });
        renderSide();
        break;
      case "queue":
        state.queues[f.queue.group] = f.queue;
        renderSide();
        break;
      case "assigned":
        state.mine[f.conversation.id] = f.conversation;
        var cur = state.details && state.details.conversation;
        if (!state.current || (cur && cur.id === state.current && cur.status === "closed")) {
          openConversation(f.conversation.id);
        } else if (f.conversation.id !== state.current) {
          state.unread[f.conversation.id] = (state.unread[f.conversation.id] || 0) + 1;
        }
        alertAgent();
        renderSide();
        break;
      case "conversation":
        var c = f.conversation;
        if (c.status === "assigned" && c.assigned_agent === state.me.id) state.mine[c.id] = c; else delete state.mine[c.id];
        if (state.details && state.details.conversation.id === c.id) { state.details.conversation = c; renderHeader(); }
        renderSide();
        break;
      case "ack":
        // Our own message comes once, inside its ack.
        if (f.stored) addMessage(f.stored);
        break;
      case "message":
        var isNew = !(state.messages[f.conversation_id] && state.messages[f.conversation_id][f.seq]);
        addMessage(f);
        if (isNew && f.sender === "visitor" && state.mine[f.conversation_id] && (f.conversation_id !== state.current || document.hidden)) {
          state.unread[f.conversation_id] = (state.unread[f.conversation_id] || 0) + 1;
          alertAgent();
          renderSide();
        }
        if (f.conversation_id === state.current && f.sender === "visitor" && !document.hidden && state.mine[f.conversation_id]) {
          send({ type: "read", conversation_id: f.conversation_id, seq: f.seq });
        }
        break;
      case "read":
        if (f.conversation_id === state.current && ui.transcript) {
          var old = ui.transcript.querySelector(".seen");
          if (old) old.remove();
          var seen = el("div", "msg system seen", zh ? "访客已读" : "Seen by the visitor");
          seen.setAttribute("data-seq", f.seq + 0.5);
          var after = null, kids = ui.transcript.children;
          for (var i = 0; i < kids.length; i++) { if (+kids[i].getAttribute("data-seq") > f.seq + 0.5) { after = kids[i]; break; } }
          ui.transcript.insertBefore(seen, after);
        }
        break;
      case "typing":
        if (f.conversation_id === state.current && ui.typing) {
          ui.typing.textContent = t("typing");
          clearTimeout(ui.typingTimer);
          ui.typingTimer = setTimeout(function () { ui.typing.textContent = ""; }, 3000);
        }
        break;
      case "error":
        if (ui.error) ui.error.textContent = f.message;
        break;
    }
  }

  // alertAgent tells an agent who may be looking elsewhere that something
  // needs them: a short tone (Web Audio, nothing downloaded) and the count
  // in the tab title (renderSide).
  var audio = null;
  function alertAgent() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.08, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio: the title still counts */ }
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.current && state.unread[state.current]) { delete state.unread[state.current]; renderSide(); }
  });

  function lastSeq(id) {
    var m = state.messages[id];
    if (!m) return 0;
    var max = 0;
    Object.keys(m).forEach(function (k) { if (+k > max) max = +k; });
    return max;
  }

  // ---------- side lists ----------
  function renderSide() {
    Object.keys(ui.tabs).forEach(function (k) { ui.tabs[k].className = state.tab === k ? "active" : ""; });
    var unread = 0;
    Object.keys(state.unread).forEach(function (id) { if (state.mine[id]) unread += state.unread[id]; else delete state.unread[id]; });
    document.title = (unread ? "(" + unread + ") " : "") + baseTitle;
    var mineCount = Object.keys(state.mine).length;
    ui.tabs.mine.textContent = t("mine") + (mineCount ? " (" + mineCount + ")" : "");
    var waiting = 0;
    Object.keys(state.queues).forEach(function (g) { waiting += state.queues[g].entries.length; });
    ui.tabs.queue.textContent = t("queue") + (waiting ? " (" + waiting + ")" : "");
    clear(ui.list);
    if (state.tab === "queue") renderQueue();
    else if (state.tab === "mine") renderMine();
    else if (state.tab === "dashboard") renderDashboardSide();
    else if (state.tab === "knowledge") renderKnowledgeSide();
    else renderTickets();
  }

  function renderQueue() {
    var groups = Object.keys(state.queues).sort();
    var any = false;
    groups.forEach(function (g) {
      var q = state.queues[g];
      var head = el("div", "group-title");
      head.appendChild(el("span", null, g));
      head.appendChild(el("span", null, String(q.entries.length)));
      ui.list.appendChild(head);
      q.entries.forEach(function (e) {
        any = true;
        var it = el("div", "item queue-entry");
        it.setAttribute("data-conversation", e.conversation_id);
        var info = el("div", "grow");
        var line = el("div", null, "#" + e.position + " " + e.visitor_id.slice(0, 12) + " ");
        if (e.priority > 0) line.appendChild(el("span", "badge vip", "VIP"));
        info.appendChild(line);
        var sub = el("div", "sub reason", t("reason") + ": " + code(e.reason) + " · " + t("waiting") + " " + ago(e.queued_at));
        sub.setAttribute("data-queued", e.queued_at);
        sub.setAttribute("data-reason", e.reason);
        info.appendChild(sub);
        it.appendChild(info);
        var accept = btn(t("accept"), "primary accept", function (ev) {
          ev.stopPropagation();
          accept.disabled = true;
          api("POST", "/api/v1/agent/conversations/" + e.conversation_id + "/accept").then(function (c) {
            state.mine[c.id] = c;
            state.tab = "mine";
            renderSide();
            openConversation(c.id);
          }).catch(function (err) { accept.disabled = false; alert(err.message); });
        });
        it.appendChild(accept);
        it.addEventListener("click", function () { openConversation(e.conversation_id); });
        ui.list.appendChild(it);
      });
    });
    if (!any) ui.list.appendChild(el("div", "empty", t("empty_queue")));
  }

  function renderMine() {
    var ids = Object.keys(state.mine);
    if (!ids.length) { ui.list.appendChild(el("div", "empty", t("empty_mine"))); return; }
    ids.forEach(function (id) {
      var c = state.mine[id];
      var it = el("div", "item mine-entry" + (state.current === id ? " selected" : ""));
      it.setAttribute("data-conversation", id);
      var info = el("div", "grow");
      info.appendChild(el("div", null, c.visitor_id.slice(0, 14)));
      if (state.unread[id]) it.appendChild(el("span", "unread-badge", String(state.unread[id])));
      info.appendChild(el("div", "sub", groupName(c.skill_group) + " · " + code(c.handoff_reason || "")));
      it.appendChild(info);
      it.addEventListener("click", function () { openConversation(id); });
      ui.list.appendChild(it);
    });
  }

  // ---------- conversation ----------
  function renderPane() {
    clear(ui.pane);
    if (!state.current) { ui.pane.appendChild(el("div", "empty", t("pick"))); return; }
    ui.why = el("div", "why");
    ui.visitor = el("div", "visitor");
    ui.actions = el("div", "actions-bar");
    ui.dialog = el("div");
    ui.transcript = el("div", "transcript");
    ui.typing = el("div", "typing");
    ui.error = el("div", "error");
    ui.pane.appendChild(ui.why);
    ui.pane.appendChild(ui.visitor);
    ui.pane.appendChild(ui.actions);
    ui.pane.appendChild(ui.dialog);
    ui.pane.appendChild(ui.transcript);
    ui.pane.appendChild(ui.typing);
    ui.pane.appendChild(ui.error);
    ui.pane.appendChild(composer());
    renderHeader();
    var msgs = state.messages[state.current] || {};
    Object.keys(msgs).map(Number).sort(function (a, b) { return a - b; }).forEach(function (s) { renderMessage(msgs[s]); });
  }

  function openConversation(id) {
    state.current = id;
    delete state.unread[id];
    state.details = null;
    if (!state.messages[id]) state.messages[id] = {};
    renderSide();
    renderPane();
    send({ type: "watch", conversation_id: id, last_seq: lastSeq(id) });
    api("GET", "/api/v1/agent/conversations/" + id).then(function (d) {
      if (state.current !== id) return;
      state.details = d;
      renderHeader();
    }).catch(function (e) { ui.error.textContent = e.message; });
  }

  function renderHeader() {
    if (!ui.why || !state.details) return;
    var d = state.details, c = d.conversation;
    clear(ui.why);
    ui.why.appendChild(el("h2", null, t("why")));
    var reason = el("div", "handoff-reason", t("reason") + ": " + (c.handoff_reason ? code(c.handoff_reason) + " (" + c.handoff_reason + ")" : "—") + " · " + groupName(c.skill_group));
    ui.why.appendChild(reason);
    if (d.bot_decision) {
      var bd = d.bot_decision;
      var parts = [t("decision") + ": " + bd.kind + " (" + bd.reason + ")", t("confidence") + " " + (bd.confidence || 0).toFixed(2), t("threshold") + " " + (bd.threshold || 0).toFixed(2)];
      if (bd.candidates && bd.candidates.length) parts.push(t("candidates") + ": " + bd.candidates.map(function (x) { return x.id + " " + x.score.toFixed(2); }).join(", "));
      ui.why.appendChild(el("div", "scores", parts.join(" · ")));
    }
    clear(ui.visitor);
    var v = d.visitor, p = v.personal || {};
    ui.visitor.appendChild(el("span", null, t("visitor") + ": " + v.id));
    if (p.name) ui.visitor.appendChild(el("span", null, p.name));
    if (p.email) ui.visitor.appendChild(el("span", null, p.email + (p.verified ? " ✓" : (zh ? "（未验证）" : " (unverified)"))));
    if (d.page_url) ui.visitor.appendChild(el("span", "page-url", (zh ? "页面：" : "Page: ") + d.page_url));
    ui.visitor.appendChild(el("span", null, d.earlier.length + " " + t("earlier")));
    if (c.rating) ui.visitor.appendChild(el("span", null, t("rated") + ": " + c.rating + "/5"));
    clear(ui.actions);
    var mine = c.status === "assigned" && c.assigned_agent === state.me.id;
    var label = T["st_" + c.status] ? t("st_" + c.status) : c.status;
    if (c.status === "assigned" && !mine) {
      if (agentName(c.assigned_agent)) label += " · " + agentName(c.assigned_agent);
    }
    var st = el("span", "status conv-status", label);
    st.setAttribute("data-status", c.status);
    ui.actions.appendChild(st);
    var serves = state.me.role === "admin" || (state.me.groups || []).indexOf(c.skill_group) >= 0;
    if (c.status === "queued" && serves) {
      ui.actions.appendChild(btn(t("accept"), "primary", function () {
        api("POST", "/api/v1/agent/conversations/" + c.id + "/accept").then(function (x) { state.mine[x.id] = x; state.details.conversation = x; renderHeader(); renderSide(); }).catch(function (e) { ui.error.textContent = e.message; });
      }));
    }
    if (mine) {
      ui.actions.appendChild(btn(t("transfer"), "transfer", showTransfer));
      ui.actions.appendChild(btn(t("handback"), "handback", function () { act("handback"); }));
      // Closing asks for a second click (no browser dialog): the visitor is then asked for a rating.
      var closeBtn = btn(t("close"), "danger close-conv", function () {
        if (closeBtn.getAttribute("data-armed")) { act("close"); return; }
        closeBtn.setAttribute("data-armed", "1");
        closeBtn.textContent = t("confirm_close");
        setTimeout(function () { closeBtn.removeAttribute("data-armed"); closeBtn.textContent = t("close"); }, 4000);
      });
      ui.actions.appendChild(closeBtn);
    }
    // Only the agent of the conversation replies; everyone who may see it can write notes.
    if (ui.setNotesOnly) ui.setNotesOnly(!mine && !(state.me.role === "admin" && c.status === "assigned"));
  }

  function act(what) {
    var id = state.current;
    api("POST", "/api/v1/agent/conversations/" + id + "/" + what).then(function (c) {
      state.details.conversation = c;
      delete state.mine[c.id];
      renderHeader();
      renderSide();
    }).catch(function (e) { ui.error.textContent = e.message; });
  }

  // showPasswordForm lets the agent change their own password in the pane.
  function showPasswordForm() {
    state.current = null;
    clear(ui.pane);
    var f = el("form", "login pw-form");
    f.appendChild(el("h2", null, t("pw_save")));
    function field(label, name) {
      var i = el("input"); i.type = "password"; i.name = name; i.placeholder = label; i.autocomplete = name === "current" ? "current-password" : "new-password";
      f.appendChild(i);
      return i;
    }
    var cur = field(t("pw_current"), "current"), next = field(t("pw_new"), "new"), again = field(t("pw_again"), "again");
    var msg = el("div", "error");
    var go = el("button", "primary", t("pw_save")); go.type = "submit";
    f.appendChild(go);
    f.appendChild(msg);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      if (next.value !== again.value) { msg.textContent = t("pw_mismatch"); return; }
      api("POST", "/api/v1/agent/password", { current_password: cur.value, new_password: next.value }).then(function (r) {
        state.csrf = r.csrf_token;
        clear(f);
        f.appendChild(el("div", "done", t("pw_done")));
      }).catch(function (err) { msg.textContent = err.message; });
    });
    ui.pane.appendChild(f);
    cur.focus();
  }

  function showTransfer() {
    clear(ui.dialog);
    ui.dialog.className = "dialog";
    var kind = el("select");
    [["group", t("to_group")], ["agent", t("to_agent")]].forEach(function (o) { var op = el("option", null, o[1]); op.value = o[0]; kind.appendChild(op); });
    var target = el("select");
    var note = el("input"); note.placeholder = t("transfer_note"); note.maxLength = 500;
    function fill() {
      clear(target);
      if (kind.value === "group") {
        state.groups.forEach(function (g) { var op = el("option", null, g.name); op.value = g.id; target.appendChild(op); });
      } else {
        api("GET", "/api/v1/agent/agents").then(function (r) {
          r.agents.forEach(function (a) {
            if (a.id === state.me.id) return;
            var op = el("option", null, a.name + " (" + a.presence + ")"); op.value = a.id; target.appendChild(op);
          });
        });
      }
    }
    kind.addEventListener("change", fill);
    fill();
    ui.dialog.appendChild(kind); ui.dialog.appendChild(target); ui.dialog.appendChild(note);
    ui.dialog.appendChild(btn(t("go"), "primary", function () {
      var body = { note: note.value };
      body[kind.value] = target.value;
      api("POST", "/api/v1/agent/conversations/" + state.current + "/transfer", body).then(function (c) {
        state.details.conversation = c;
        if (!(c.status === "assigned" && c.assigned_agent === state.me.id)) delete state.mine[c.id];
        clear(ui.dialog); ui.dialog.className = "";
        renderHeader(); renderSide();
      }).catch(function (e) { ui.error.textContent = e.message; });
    }));
    ui.dialog.appendChild(btn(t("cancel"), null, function () { clear(ui.dialog); ui.dialog.className = ""; }));
  }

  function addMessage(f) {
    var byConv = state.messages[f.conversation_id];
    if (!byConv) byConv = state.messages[f.conversation_id] = {};
    if (byConv[f.seq]) return;
    byConv[f.seq] = f;
    if (f.conversation_id === state.current && ui.transcript) {
      // Keep the transcript in seq order even if a gap was filled late.
      renderMessage(f);
    }
  }

  function renderMessage(f) {
    var cls = f.kind === "note" ? "note" : f.sender;
    if (f.kind === "event") cls = "system";
    var node = el("div", "msg " + cls);
    node.setAttribute("data-seq", f.seq);
    var who = (f.sender === "agent" && (f.sender_id === state.me.id ? state.me.name : agentName(f.sender_id))) || code("sender_" + f.sender);
    if (f.kind === "note") who += " · " + t("note");
    node.appendChild(el("div", "meta", who + " · " + new Date(f.created_at).toLocaleTimeString()));
    if (f.kind === "file" && f.file) {
      var url = "/api/v1/agent/files/" + encodeURIComponent(f.file.id);
      if (/^image\/(png|jpeg|gif)$/.test(f.file.content_type)) {
        var img = el("img", "attachment"); img.src = url; img.alt = f.file.name; node.appendChild(img);
      } else {
        var a = el("a", null, "📄 " + f.file.name + " (" + Math.ceil(f.file.size / 1024) + " KB)"); a.href = url; a.setAttribute("download", f.file.name); node.appendChild(a);
      }
    } else if ((f.sender === "bot" || f.sender === "agent") && f.kind !== "note" && f.kind !== "event") {
      var body = el("div", "text md");
      renderMarkdown(body, f.text || "");
      node.appendChild(body);
    } else {
      node.appendChild(el("div", "text", f.text));
    }
    if (f.sender === "bot" && f.metadata && f.metadata.decision) {
      var det = el("details");
      det.appendChild(el("summary", null, t("decision") + ": " + f.metadata.decision.kind));
      det.appendChild(el("pre", null, JSON.stringify(f.metadata.decision, null, 2)));
      node.appendChild(det);
    }
    var after = null;
    var kids = ui.transcript.children;
    for (var i = 0; i < kids.length; i++) { if (+kids[i].getAttribute("data-seq") > f.seq) { after = kids[i]; break; } }
    ui.transcript.insertBefore(node, after);
    if (!after) ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function composer() {
    var box = el("form", "composer");
    var input = el("textarea", "reply");
    input.placeholder = t("reply_ph");
    input.maxLength = 2000;
    ui.input = input;
    var sideActs = el("div", "side-actions");
    var noteLabel = el("label");
    var noteBox = el("input"); noteBox.type = "checkbox"; noteBox.className = "note-toggle";
    noteLabel.appendChild(noteBox);
    noteLabel.appendChild(document.createTextNode(" " + t("note")));
    // In note mode the whole composer is tinted, so a reply is never sent as a note unnoticed.
    var notesOnly = false;
    function noteMode() {
      if (notesOnly) noteBox.checked = true;
      noteBox.disabled = notesOnly;
      box.className = noteBox.checked ? "composer note-mode" : "composer";
      input.placeholder = notesOnly ? t("notes_only") : noteBox.checked ? t("note") : t("reply_ph");
    }
    noteBox.addEventListener("change", noteMode);
    ui.setNotesOnly = function (only) { notesOnly = only; noteMode(); };
    var sendBtn = el("button", "primary send", t("send")); sendBtn.type = "submit";
    var fileInput = el("input"); fileInput.type = "file"; fileInput.hidden = true;
    fileInput.accept = "image/png,image/jpeg,image/gif,application/pdf,text/plain";
    var attach = btn("📎", "attach", function () { fileInput.click(); });
    attach.title = zh ? "发送文件" : "Attach a file";
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      fileInput.value = "";
      if (!file) return;
      var form = new FormData();
      form.append("client_msg_id", newId());
      form.append("file", file);
      fetch("/api/v1/agent/conversations/" + state.current + "/uploads", { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": state.csrf } })
        .then(function (r) { if (!r.ok) return r.json().then(function (j) { throw new Error(j.error.message); }); })
        .catch(function (e) { ui.error.textContent = e.message; });
    });
    sideActs.appendChild(sendBtn);
    sideActs.appendChild(attach);
    var couponBtn = btn("🎟", "coupon-btn", function () {
      var code = prompt(zh ? "优惠码" : "Coupon code");
      if (!code) return;
      var title = prompt(zh ? "标题（例如 满100减10）" : "Title (e.g. 10% off)") || code;
      api("POST", "/api/v1/agent/conversations/" + state.current + "/messages", { client_msg_id: newId(), coupon: { code: code, title: title } })
        .catch(function (e) { ui.error.textContent = e.message; });
    });
    couponBtn.title = zh ? "发送优惠券" : "Send a coupon";
    sideActs.appendChild(couponBtn);
    sideActs.appendChild(fileInput);
    sideActs.appendChild(noteLabel);
    box.appendChild(input);
    box.appendChild(sideActs);
    var suggest = el("div", "suggest");
    suggest.hidden = true;
    box.appendChild(suggest);
    var lastTyping = 0;
    function submit() {
      var text = input.value.trim();
      if (!text) return;
      var frame = { type: noteBox.checked ? "note" : "message", conversation_id: state.current, client_msg_id: newId(), text: text };
      if (!send(frame)) {
        api("POST", "/api/v1/agent/conversations/" + state.current + "/messages", { client_msg_id: frame.client_msg_id, text: text, note: noteBox.checked })
          .catch(function (e) { ui.error.textContent = e.message; });
      }
      input.value = "";
      suggest.hidden = true;
      if (noteBox.checked) { noteBox.checked = false; noteMode(); } // a note is one message: back to replying
    }
    function updateSuggest() {
      var v = input.value;
      if (v.charAt(0) !== "/" || v.indexOf(" ") >= 0) { suggest.hidden = true; return; }
      var q = v.slice(1).toLowerCase();
      clear(suggest);
      var hits = state.canned.filter(function (c) { return c.shortcut.toLowerCase().indexOf(q) === 0; });
      hits.forEach(function (c, i) {
        var d = el("div", i === 0 ? "active" : "", "/" + c.shortcut + " — " + c.title);
        d.addEventListener("mousedown", function (e) { e.preventDefault(); input.value = c.body; suggest.hidden = true; input.focus(); });
        suggest.appendChild(d);
      });
      suggest.hidden = hits.length === 0;
    }
    input.addEventListener("input", function () {
      updateSuggest();
      if (Date.now() - lastTyping > 2000) { lastTyping = Date.now(); send({ type: "typing", conversation_id: state.current }); }
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Tab" && !suggest.hidden) {
        e.preventDefault();
        var first = suggest.querySelector("div");
        if (first) first.dispatchEvent(new MouseEvent("mousedown"));
      } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (!suggest.hidden) { var f0 = suggest.querySelector("div"); if (f0) { f0.dispatchEvent(new MouseEvent("mousedown")); return; } }
        submit();
      } else if (e.key === "Escape") { suggest.hidden = true; }
    });
    box.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    return box;
  }

  // ---------- tickets ----------
  function loadTickets() {
    var q = state.ticketFilter ? "?status=" + state.ticketFilter : "";
    api("GET", "/api/v1/agent/tickets" + q).then(function (r) { state.tickets = r.tickets; if (state.tab === "tickets") renderSide(); });
  }

  function renderTickets() {
    var bar = el("div", "dialog");
    var sel = el("select");
    [["open", "open"], ["pending", "pending"], ["solved", "solved"], ["", t("status_all")]].forEach(function (o) {
      var op = el("option", null, o[1]); op.value = o[0]; if (state.ticketFilter === o[0]) op.selected = true; sel.appendChild(op);
    });
    sel.addEventListener("change", function () { state.ticketFilter = sel.value; loadTickets(); });
    bar.appendChild(sel);
    ui.list.appendChild(bar);
    if (!state.tickets.length) { ui.list.appendChild(el("div", "empty", t("no_tickets"))); return; }
    state.tickets.forEach(function (tk) {
      var it = el("div", "item ticket-entry");
      var info = el("div", "grow");
      info.appendChild(el("div", null, tk.subject || tk.id));
      info.appendChild(el("div", "sub", groupName(tk.group_id) + " · " + ago(tk.created_at)));
      it.appendChild(info);
      it.appendChild(el("span", "badge " + tk.status, code(tk.status)));
      it.addEventListener("click", function () { openTicket(tk.id); });
      ui.list.appendChild(it);
    });
  }

  function openTicket(id) {
    state.current = null;
    api("GET", "/api/v1/agent/tickets/" + id).then(function (r) {
      clear(ui.pane);
      var tk = r.ticket;
      var box = el("div", "ticket");
      box.appendChild(el("h2", null, tk.subject));
      var c = tk.contact || {};
      box.appendChild(el("div", "sub", t("from") + ": " + [c.name, c.email, c.phone].filter(Boolean).join(" · ") + " · " + code(tk.status)));
      // Each entry says who wrote it and when: the visitor's message, then replies, notes and status changes.
      function entry(kind, who, at, body) {
        var d = el("div", "event " + kind);
        d.appendChild(el("div", "meta", who + " · " + new Date(at).toLocaleString()));
        d.appendChild(el("div", null, body));
        box.appendChild(d);
      }
      entry("message", c.name || code("sender_visitor"), tk.created_at, tk.body);
      r.events.forEach(function (ev) {
        var who = ev.author_id === state.me.id ? state.me.name : agentName(ev.author_id) || code("sender_agent");
        entry(ev.kind, who + " · " + code("ticket_" + ev.kind), ev.created_at, ev.kind === "status" ? ev.body.replace(/\b(open|pending|solved)\b/g, code) : ev.body);
      });
      if (tk.conversation_id) {
        // The conversation the message was left in opens in the pane.
        var src = el("div", "sub", (zh ? "来自会话 " : "From conversation ") + " ");
        var link = el("a", "source-conv", tk.conversation_id);
        link.href = "#";
        link.addEventListener("click", function (e) { e.preventDefault(); openConversation(tk.conversation_id); });
        src.appendChild(link);
        box.appendChild(src);
      }
      var text = el("textarea");
      box.appendChild(text);
      var acts = el("div", "dialog");
      if (c.email) {
        acts.appendChild(btn(t("reply"), "primary", function () {
          if (!text.value.trim()) { text.focus(); return; }
          api("POST", "/api/v1/agent/tickets/" + id + "/replies", { text: text.value }).then(function () { openTicket(id); loadTickets(); }).catch(function (e) { alert(e.message); });
        }));
      } else {
        // Nothing an agent writes here could reach the visitor: say how to answer.
        box.insertBefore(el("div", "sub no-email", t("no_email")), text);
      }
      acts.appendChild(btn(t("add_note"), c.email ? null : "primary", function () {
        if (!text.value.trim()) { text.focus(); return; }
        api("POST", "/api/v1/agent/tickets/" + id + "/notes", { text: text.value }).then(function () { openTicket(id); }).catch(function (e) { alert(e.message); });
      }));
      var next = tk.status === "solved" ? "open" : "solved";
      acts.appendChild(btn(t(next === "solved" ? "solve" : "reopen"), null, function () {
        api("PATCH", "/api/v1/agent/tickets/" + id, { status: next }).then(function () { openTicket(id); loadTickets(); });
      }));
      box.appendChild(acts);
      ui.pane.appendChild(box);
    });
  }

  // ---------- dashboard ----------
  function renderDashboardSide() {
    var box = el("div", "dialog");
    box.appendChild(btn(t("last7"), null, function () { showDashboard(7); }));
    box.appendChild(btn(t("last30"), null, function () { showDashboard(30); }));
    ui.list.appendChild(box);
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  // barChart draws labelled bars as SVG (no library, no network).
  function barChart(title, rows) {
    var box = el("div", "chart");
    box.appendChild(el("h3", null, title));
    var w = 520, barH = 18, gap = 6, labelW = 150, h = Math.max(1, rows.length) * (barH + gap) + 4;
    var max = 1;
    rows.forEach(function (r) { if (r[1] > max) max = r[1]; });
    var s = svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": title });
    rows.forEach(function (r, i) {
      var y = i * (barH + gap) + 2;
      var lab = svg("text", { x: labelW - 6, y: y + barH - 5, "text-anchor": "end", "font-size": "12", fill: "#475569" });
      lab.textContent = r[0];
      var bw = Math.round((w - labelW - 50) * r[1] / max);
      var bar = svg("rect", { x: labelW, y: y, width: Math.max(bw, r[1] > 0 ? 2 : 0), height: barH, rx: 3, fill: "#2563eb", "class": "bar" });
      var val = svg("text", { x: labelW + bw + 6, y: y + barH - 5, "font-size": "12", fill: "#1f2933" });
      val.textContent = String(r[1]);
      s.appendChild(lab); s.appendChild(bar); s.appendChild(val);
    });
    box.appendChild(s);
    return box;
  }

  function secs(v) {
    if (!v) return "—";
    if (v < 90) return Math.round(v) + "s";
    if (v < 5400) return Math.round(v / 60) + "m";
    return (v / 3600).toFixed(1) + "h";
  }

  function showDashboard(days) {
    state.current = null;
    var to = new Date(), from = new Date(Date.now() - (days - 1) * 86400000);
    var q = "?from=" + from.toISOString().slice(0, 10) + "&to=" + to.toISOString().slice(0, 10);
    clear(ui.pane);
    var page = el("div", "dashboard");
    ui.pane.appendChild(page);
    var admin = state.me.role === "admin";
    var reportReq = admin ? api("GET", "/api/v1/admin/reports" + q) : Promise.resolve(null);
    var emailReq = admin ? api("GET", "/api/v1/admin/email").catch(function () { return null; }) : Promise.resolve(null);
    Promise.all([reportReq, api("GET", "/api/v1/agent/knowledge-gaps" + q), emailReq]).then(function (res) {
      var r = res[0], gaps = res[1], email = res[2];
      if (email && !email.smtp_configured) {
        page.appendChild(el("div", "warn no-smtp", t("no_smtp") + email.waiting));
      }
      if (r) {
        var head = el("div", "dash-head");
        head.appendChild(el("h2", null, t("dashboard") + " · " + q.slice(6, 16) + " – " + q.slice(-10)));
        var csvLink = el("a", null, t("csv")); csvLink.href = "/api/v1/admin/reports.csv" + q;
        head.appendChild(csvLink);
        page.appendChild(head);
        var kpis = el("div", "kpis");
        [[t("conversations"), String(r.conversations)],
         [t("containment"), Math.round(r.containment_rate * 100) + "%"],
         [t("bot_resolution"), Math.round(r.bot_resolution_rate * 100) + "%"],
         [t("handoffs"), r.handed_off + " (" + Math.round(r.handoff_rate * 100) + "%)"],
         [t("frt"), secs(r.first_response.median_seconds) + " / " + secs(r.first_response.p90_seconds)],
         [t("wait"), secs(r.queue_wait.median_seconds) + " / " + secs(r.queue_wait.p90_seconds)],
         [t("resolution"), secs(r.resolution.median_seconds) + " / " + secs(r.resolution.p90_seconds)],
         [t("csat"), r.csat.count ? r.csat.average.toFixed(2) + " (" + r.csat.count + ")" : "—"],
         [t("tickets_kpi"), r.tickets_opened + " / " + r.tickets_solved],
         [t("invitations"), r.invitations.shown + " / " + r.invitations.clicked + " / " + r.invitations.converted]
        ].forEach(function (k) {
          var tile = el("div", "kpi");
          tile.appendChild(el("div", "kpi-label", k[0]));
          tile.appendChild(el("div", "kpi-value", k[1]));
          kpis.appendChild(tile);
        });
        page.appendChild(kpis);
        page.appendChild(barChart(t("volume"), r.volume.map(function (b) { return [b.start.slice(5, 10), b.conversations]; })));
        page.appendChild(barChart(t("reasons"), Object.keys(r.handoff_reasons).sort().map(function (k) { return [k, r.handoff_reasons[k]]; })));
        page.appendChild(barChart(t("ratings"), [5, 4, 3, 2, 1].map(function (n) { return ["★".repeat(n), r.csat.distribution[n - 1]]; })));
      }
      var g = el("div", "gaps");
      g.appendChild(el("h3", null, t("gaps")));
      gaps.gaps.forEach(function (gap) {
        var row = el("div", "gap");
        row.appendChild(el("span", "gap-count", String(gap.count)));
        row.appendChild(el("span", "gap-q", gap.question));
        if (gap.examples.length) row.appendChild(el("span", "sub", " · " + gap.examples.join(" · ")));
        var open = btn(t("create_faq"), "create-faq", function () {
          if (row.nextSibling && row.nextSibling.className === "faq-form") { row.parentNode.removeChild(row.nextSibling); return; }
          row.parentNode.insertBefore(faqForm(gap, row), row.nextSibling);
        });
        row.appendChild(open);
        g.appendChild(row);
      });
      page.appendChild(g);
    }).catch(function (e) { page.appendChild(el("div", "error", e.message)); });
  }

  // faqForm is the "Create FAQ entry" form for a knowledge gap: the
  // phrasings as questions (one per line, editable), a multi-line answer and
  // the skill group. On success the gap's row says so and the form goes.
  function faqForm(gap, row) {
    var f = el("form", "faq-form");
    var ql = el("label", null, t("faq_questions"));
    var questions = el("textarea"); questions.name = "questions"; questions.rows = Math.min(6, 1 + gap.examples.length);
    questions.value = [gap.question].concat(gap.examples).join("\n");
    ql.appendChild(questions);
    var al = el("label", null, t("faq_answer"));
    var answer = el("textarea"); answer.name = "answer"; answer.rows = 6; answer.required = true; answer.maxLength = 16000;
    al.appendChild(answer);
    var sl = el("label", null, t("faq_skill"));
    var skill = el("select"); skill.name = "skill";
    var def = el("option", null, t("faq_skill_default")); def.value = ""; skill.appendChild(def);
    state.groups.forEach(function (gr) { var op = el("option", null, gr.name); op.value = gr.id; skill.appendChild(op); });
    sl.appendChild(skill);
    var msg = el("div", "error");
    var acts = el("div", "dialog");
    var save = el("button", "primary", t("faq_save")); save.type = "submit";
    acts.appendChild(save);
    acts.appendChild(btn(t("cancel"), null, function () { f.parentNode.removeChild(f); }));
    [ql, al, sl, msg, acts].forEach(function (n) { f.appendChild(n); });
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var qs = questions.value.split("\n").map(function (q) { return q.trim(); }).filter(Boolean);
      if (!qs.length) { questions.focus(); return; }
      if (!answer.value.trim()) { answer.focus(); return; }
      save.disabled = true;
      msg.textContent = "";
      api("POST", "/api/v1/agent/knowledge/entries", { questions: qs, answer: answer.value, skill: skill.value })
        .then(function (e) {
          f.parentNode.removeChild(f);
          row.classList.add("gap-done");
          var open = row.querySelector(".create-faq");
          if (open) row.removeChild(open);
          row.appendChild(el("span", "faq-created", t("faq_created") + e.id));
        })
        .catch(function (e) { save.disabled = false; msg.textContent = e.message; });
    });
    setTimeout(function () { answer.focus(); }, 0);
    return f;
  }

  // ---------- knowledge ----------
  // The Knowledge tab: the entries (searchable) on the left; in the pane the
  // knowledge base's problems (when there are any), the selected entry's
  // edit form and a "Try a question" box that shows what the bot's FAQ rule
  // does with a question.
  var kb = { q: "", entries: [], total: 0, problems: [], current: null, seq: 0 };

  function loadKnowledge() {
    var n = ++kb.seq;
    var q = "?limit=200" + (kb.q ? "&q=" + encodeURIComponent(kb.q) : "");
    return Promise.all([api("GET", "/api/v1/agent/knowledge/entries" + q), api("GET", "/api/v1/agent/knowledge/problems")]).then(function (r) {
      if (n !== kb.seq) return; // a later search answered first
      kb.entries = r[0].entries; kb.total = r[0].total; kb.problems = r[1].problems;
      if (state.tab === "knowledge") renderSide();
      renderKnowledgeProblems();
    }).catch(function (e) { if (ui.kbMsg) ui.kbMsg.textContent = e.message; });
  }

  function renderKnowledgeSide() {
    if (!ui.kbSearch) {
      ui.kbSearch = el("input", "kb-search"); ui.kbSearch.type = "search"; ui.kbSearch.name = "kb-q";
      var timer = null;
      ui.kbSearch.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { kb.q = ui.kbSearch.value.trim(); loadKnowledge(); }, 200);
      });
    }
    ui.kbSearch.placeholder = t("kb_search");
    // Lists are redrawn on every queue event: keep the cursor in the search box.
    var focused = document.activeElement === ui.kbSearch, pos = ui.kbSearch.selectionStart;
    var bar = el("div", "dialog kb-bar");
    bar.appendChild(ui.kbSearch);
    bar.appendChild(btn(t("kb_new"), "kb-new", function () { showKnowledge({ id: "", questions: [], answer: "", skill: "", tags: [], editable: true, isNew: true }); }));
    ui.list.appendChild(bar);
    if (focused) { ui.kbSearch.focus(); try { ui.kbSearch.setSelectionRange(pos, pos); } catch (e) { /* not a text field */ } }
    if (!kb.entries.length) { ui.list.appendChild(el("div", "empty", t("kb_none"))); return; }
    kb.entries.forEach(function (e) {
      var it = el("div", "item kb-entry" + (kb.current === e.id ? " selected" : ""));
      it.setAttribute("data-id", e.id);
      var info = el("div", "grow");
      info.appendChild(el("div", "kb-q", e.questions[0] || e.id));
      info.appendChild(el("div", "sub", e.id + " · " + e.file));
      it.appendChild(info);
      if (!e.editable) it.appendChild(el("span", "badge", zh ? "只读" : "read-only"));
      it.addEventListener("click", function () { openKnowledgeEntry(e.id); });
      ui.list.appendChild(it);
    });
    if (kb.total > kb.entries.length) ui.list.appendChild(el("div", "empty", (kb.total - kb.entries.length) + t("kb_more")));
  }

  function openKnowledgeEntry(id) {
    api("GET", "/api/v1/agent/knowledge/entries/" + encodeURIComponent(id)).then(function (e) { showKnowledge(e); })
      .catch(function (e) { if (ui.kbMsg) ui.kbMsg.textContent = e.message; });
  }

  // showKnowledge draws the pane: problems, the entry's form (or a hint), the try box.
  function showKnowledge(entry) {
    state.current = null;
    kb.current = entry && !entry.isNew ? entry.id : null;
    clear(ui.pane);
    var page = el("div", "knowledge");
    ui.kbProblems = el("div", "kb-problems");
    page.appendChild(ui.kbProblems);
    ui.kbMsg = el("div", "kb-msg");
    page.appendChild(entry ? entryForm(entry) : el("div", "empty", t("kb_pick")));
    page.appendChild(ui.kbMsg);
    // The try box keeps its question and result while entries change, to try again after a save.
    ui.kbTry = ui.kbTry || tryBox();
    page.appendChild(ui.kbTry);
    ui.pane.appendChild(page);
    renderKnowledgeProblems();
    if (!entry) loadKnowledge(); else if (state.tab === "knowledge") renderSide();
  }

  function renderKnowledgeProblems() {
    if (!ui.kbProblems || !ui.kbProblems.isConnected) return;
    clear(ui.kbProblems);
    if (!kb.problems.length) return;
    ui.kbProblems.appendChild(el("h3", null, t("kb_problems") + " (" + kb.problems.length + ")"));
    kb.problems.forEach(function (p) {
      var row = el("div", "kb-problem");
      row.appendChild(el("span", "kb-problem-file", p.file + (p.line ? ":" + p.line : "")));
      row.appendChild(el("span", null, " " + p.message));
      ui.kbProblems.appendChild(row);
    });
  }

  // entryForm edits an entry (or creates one when entry.isNew): questions one
  // per line, a multi-line answer, the team and tags; Save and Delete (a
  // second click deletes). Read-only entries show why, with the fields locked.
  function entryForm(entry) {
    var f = el("form", "faq-form kb-form");
    f.appendChild(el("h2", null, entry.isNew ? t("kb_new") : entry.id));
    if (!entry.isNew) f.appendChild(el("div", "sub kb-file", t("kb_file") + ": " + entry.file));
    if (!entry.editable) {
      var why = T["ro_" + entry.origin] ? t("ro_" + entry.origin).replace("{file}", entry.file) : entry.read_only;
      f.appendChild(el("div", "warn kb-readonly", t("kb_readonly") + why));
    }
    var ql = el("label", null, t("faq_questions"));
    var questions = el("textarea"); questions.name = "questions"; questions.rows = Math.min(8, 2 + entry.questions.length);
    questions.value = entry.questions.join("\n");
    ql.appendChild(questions);
    var al = el("label", null, t("kb_answer"));
    var answer = el("textarea"); answer.name = "answer"; answer.rows = 8; answer.maxLength = 16000;
    answer.value = entry.answer;
    al.appendChild(answer);
    var sl = el("label", null, t("faq_skill"));
    var skill = el("select"); skill.name = "skill";
    var def = el("option", null, t("faq_skill_default")); def.value = ""; skill.appendChild(def);
    var groups = state.groups.slice();
    if (entry.skill && !groups.some(function (g) { return g.id === entry.skill; })) groups.push({ id: entry.skill, name: entry.skill });
    groups.forEach(function (gr) { var op = el("option", null, gr.name); op.value = gr.id; if (gr.id === entry.skill) op.selected = true; skill.appendChild(op); });
    sl.appendChild(skill);
    var tl = el("label", null, t("kb_tags"));
    var tags = el("input"); tags.name = "tags"; tags.value = (entry.tags || []).join(", ");
    tl.appendChild(tags);
    [ql, al, sl, tl].forEach(function (n) { f.appendChild(n); });
    if (entry.answers && entry.answers.length > 1) {
      var more = el("div", "sub kb-more-answers");
      more.appendChild(el("div", null, t("kb_more_answers")));
      entry.answers.slice(1).forEach(function (a) { more.appendChild(el("div", "kb-other-answer", a)); });
      f.appendChild(more);
    }
    var msg = el("div", "error");
    f.appendChild(msg);
    if (!entry.editable) {
      [questions, answer, skill, tags].forEach(function (n) { n.disabled = true; });
      return f;
    }
    var acts = el("div", "dialog");
    var save = el("button", "primary kb-save", entry.isNew ? t("faq_save") : t("kb_save")); save.type = "submit";
    acts.appendChild(save);
    if (!entry.isNew) {
      var del = btn(t("kb_delete"), "danger kb-delete", function () {
        if (!del.getAttribute("data-armed")) {
          del.setAttribute("data-armed", "1");
          del.textContent = t("kb_confirm_delete");
          setTimeout(function () { del.removeAttribute("data-armed"); del.textContent = t("kb_delete"); }, 4000);
          return;
        }
        del.disabled = true;
        api("DELETE", "/api/v1/agent/knowledge/entries/" + encodeURIComponent(entry.id)).then(function () {
          showKnowledge(null);
          ui.kbMsg.appendChild(el("span", "faq-created", t("kb_deleted") + entry.id));
        }).catch(function (e) { del.disabled = false; msg.textContent = e.message; });
      });
      acts.appendChild(del);
    }
    f.appendChild(acts);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var qs = questions.value.split("\n").map(function (q) { return q.trim(); }).filter(Boolean);
      if (!qs.length) { questions.focus(); return; }
      if (!answer.value.trim()) { answer.focus(); return; }
      var body = { questions: qs, answer: answer.value, skill: skill.value, tags: tags.value.split(",").map(function (x) { return x.trim(); }).filter(Boolean) };
      save.disabled = true;
      msg.textContent = "";
      var req = entry.isNew ? api("POST", "/api/v1/agent/knowledge/entries", body)
        : api("PUT", "/api/v1/agent/knowledge/entries/" + encodeURIComponent(entry.id), body);
      req.then(function (e) {
        e.editable = true;
        if (!e.file) e.file = entry.file;
        showKnowledge(e);
        ui.kbMsg.appendChild(el("span", "faq-created kb-saved", entry.isNew ? t("faq_created") + e.id : t("kb_saved")));
        loadKnowledge();
      }).catch(function (e) { save.disabled = false; msg.textContent = e.message; });
    });
    return f;
  }

  // tryBox asks the server what the FAQ search finds for a question and what
  // the bot's FAQ rule does with it.
  function tryBox() {
    var box = el("form", "kb-try");
    box.appendChild(el("h3", null, t("kb_try")));
    var row = el("div", "dialog");
    var text = el("input"); text.name = "try"; text.placeholder = t("kb_try_ph"); text.maxLength = 1000;
    var go = el("button", "primary", t("kb_try_go")); go.type = "submit";
    row.appendChild(text); row.appendChild(go);
    box.appendChild(row);
    var out = el("div", "kb-try-result");
    box.appendChild(out);
    box.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!text.value.trim()) { text.focus(); return; }
      go.disabled = true;
      api("POST", "/api/v1/agent/knowledge/try", { text: text.value }).then(function (r) {
        go.disabled = false;
        clear(out);
        var v = el("div", "kb-verdict " + r.verdict, t("verdict_" + r.verdict));
        v.setAttribute("data-verdict", r.verdict);
        out.appendChild(v);
        out.appendChild(el("div", "sub", t("confidence") + " " + r.confidence.toFixed(2) + " · " + t("kb_margin") + " " + r.margin.toFixed(2) +
          " · " + t("threshold") + " " + r.answer_threshold.toFixed(2)));
        if (r.verdict === "answer" && r.results.length) {
          var md = el("div", "kb-try-answer");
          renderMarkdown(md, r.results[0].answer);
          out.appendChild(md);
        }
        var list = el("ol", "kb-try-results");
        r.results.forEach(function (h) {
          var li = el("li");
          var a = el("a", null, h.question); a.href = "#";
          a.addEventListener("click", function (e) { e.preventDefault(); openKnowledgeEntry(h.id); });
          li.appendChild(a);
          li.appendChild(el("span", "sub", " " + h.id + " · " + h.score.toFixed(2)));
          list.appendChild(li);
        });
        out.appendChild(list);
      }).catch(function (e) { go.disabled = false; clear(out); out.appendChild(el("div", "error", e.message)); });
    });
    return box;
  }

  // ---------- boot ----------
  api("GET", "/api/v1/agent/me").then(start).catch(function () { showLogin(); });
})();
