/*
 * snag's flame graphs, drawn as inline SVG from the page's embedded JSON
 * (the application/json script element #snag-data). Every name in it comes
 * from the traced system, so names only ever reach the page as DOM text
 * (textContent, setAttribute), never as markup, and lookups by name use Map,
 * where a frame called "__proto__" is just a name.
 *
 * Data: {"flamegraphs": [{"id", "title", "palette", "unit", "total",
 *   "stacks": [{"value", "frames": [[name, type], ...]}]}]}, frames outermost
 * first; types "reason", "task", "user", "kernel", "missing". Each graph is
 * drawn into the .flame element whose data-graph attribute is its id.
 */
(function () {
  'use strict';

  var ROW = 18; // px per stack level
  var CHAR_W = 7.3; // px per character of the 12px monospace labels
  var MIN_W = 0.4; // frames narrower than this many px are not drawn

  // Hue ranges [from, to] per frame type. Off-CPU graphs are cool (blue user
  // frames, violet kernel frames); on-CPU graphs, when the report has them,
  // are warm, so the two kinds never look alike side by side.
  var PALETTES = {
    offcpu: {user: [200, 228], kernel: [262, 290]},
    oncpu: {user: [0, 38], kernel: [40, 58]}
  };
  var FIXED = {
    root: 'hsl(215, 16%, 58%)',
    reason: 'hsl(215, 14%, 66%)',
    task: 'hsl(38, 42%, 72%)',
    missing: 'hsl(0, 0%, 84%)'
  };
  var TYPE_NAMES = {
    root: 'all stacks',
    reason: 'off-CPU reason',
    task: 'thread name (process)',
    user: 'user function',
    kernel: 'kernel function',
    missing: 'frames not captured'
  };

  // Mirrors analysis__format_duration(): 3 significant figures.
  function fmtNs(ns) {
    var units = [['us', 1e3], ['ms', 1e6], ['s', 1e9]];
    if (ns < 1000) return Math.round(ns) + 'ns';
    for (var i = 0; i < units.length; i++) {
      var v = ns / units[i][1];
      if (i + 1 < units.length && v >= 999.5) continue;
      return v.toFixed(v < 9.995 ? 2 : v < 99.95 ? 1 : 0) + units[i][0];
    }
    return String(ns);
  }

  function pct(part, whole) {
    return whole > 0 ? (part / whole * 100).toFixed(part / whole >= 0.1 ? 1 : 2) + '%' : '-';
  }

  // A stable number in [0, 1) for a name (FNV-1a), so a frame keeps its colour.
  function hash01(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619) >>> 0;
    }
    return h / 4294967296;
  }

  function color(palette, node) {
    var range = palette[node.type];
    if (!range) return FIXED[node.type] || FIXED.missing;
    var t = hash01(node.name);
    var hue = range[0] + (range[1] - range[0]) * t;
    return 'hsl(' + hue.toFixed(0) + ', ' + (58 + 14 * t).toFixed(0) + '%, ' +
        (66 + 10 * hash01(node.name + '.')).toFixed(0) + '%)';
  }

  // Merge the stacks into a tree: root -> outermost frame -> ... -> innermost.
  function buildTree(graph) {
    var root = {name: 'all', type: 'root', value: 0, children: [], index: new Map(), parent: null};
    (graph.stacks || []).forEach(function (stack) {
      var v = Number(stack.value) || 0;
      if (v <= 0) return;
      var node = root;
      root.value += v;
      (stack.frames || []).forEach(function (f) {
        var name = String(f[0]), type = String(f[1]);
        var key = type + '\u0000' + name;
        var child = node.index.get(key);
        if (!child) {
          child = {name: name, type: type, value: 0, children: [], index: new Map(), parent: node};
          node.index.set(key, child);
          node.children.push(child);
        }
        child.value += v;
        node = child;
      });
    });
    return root;
  }

  // Fractions of the root's width: x0 and width w; widest children first.
  function layout(node, x0, depth, total) {
    var x = x0;
    node.x0 = x0;
    node.w = total > 0 ? node.value / total : 0;
    node.depth = depth;
    node.children.sort(function (a, b) {
      return b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
    node.children.forEach(function (c) {
      layout(c, x, depth + 1, total);
      x += c.w;
    });
  }

  function FlameGraph(el, graph, tip) {
    this.el = el;
    this.graph = graph;
    this.tip = tip;
    this.svg = el.querySelector('svg.flame-svg');
    this.ns = this.svg.namespaceURI; // the page's inline SVG gives the namespace
    this.status = el.querySelector('.flame-status');
    this.palette = PALETTES[graph.palette] || PALETTES.offcpu;
    this.root = buildTree(graph);
    layout(this.root, 0, 0, this.root.value);
    this.zoomed = this.root;
    this.query = '';
    this.nodes = [];
    this.legend(el.querySelector('.flame-legend'));
    this.bind();
    this.render();
  }

  FlameGraph.prototype.legend = function (box) {
    var self = this;
    if (!box) return;
    ['user', 'kernel', 'task', 'reason'].forEach(function (type) {
      var item = document.createElement('span');
      var sw = document.createElement('i');
      sw.style.background = color(self.palette, {type: type, name: 'legend'});
      item.appendChild(sw);
      item.appendChild(document.createTextNode(type === 'task' ? 'thread' : type));
      box.appendChild(item);
    });
  };

  FlameGraph.prototype.el_ = function (tag, attrs) {
    var e = document.createElementNS(this.ns, tag);
    Object.keys(attrs).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    return e;
  };

  // One frame at pixel x, width w; ancestors of the zoomed frame are drawn full width, dimmed.
  FlameGraph.prototype.drawFrame = function (node, x, w, cls) {
    var g = this.el_('g', {'class': 'frame' + (cls ? ' ' + cls : ''), 'data-i': this.nodes.length,
                           'data-name': node.name, 'data-type': node.type});
    var y = node.depth * ROW;
    var rect = this.el_('rect', {x: x.toFixed(2), y: y, width: Math.max(w - 0.6, 0.3).toFixed(2),
                                 height: ROW - 1, rx: 2, fill: color(this.palette, node)});
    g.appendChild(rect);
    var chars = Math.floor((w - 8) / CHAR_W);
    if (chars >= 3) {
      var label = node.name.length > chars ? node.name.slice(0, chars - 1) + '\u2026' : node.name;
      var text = this.el_('text', {x: (x + 4).toFixed(2), y: y + ROW - 5});
      text.textContent = label;
      g.appendChild(text);
    }
    if (this.query && node.name.toLowerCase().indexOf(this.query) >= 0)
      g.setAttribute('class', g.getAttribute('class') + ' match');
    this.nodes.push(node);
    this.svg.appendChild(g);
  };

  FlameGraph.prototype.drawSubtree = function (node, width) {
    var z = this.zoomed, scale = z.w > 0 ? width / z.w : 0;
    var x = (node.x0 - z.x0) * scale, w = node.w * scale;
    if (w < MIN_W) return; // children are narrower still
    this.drawFrame(node, x, w, '');
    for (var i = 0; i < node.children.length; i++) this.drawSubtree(node.children[i], width);
  };

  FlameGraph.prototype.render = function () {
    var width = Math.max(this.svg.clientWidth || this.el.clientWidth || 1200, 300);
    while (this.svg.firstChild) this.svg.removeChild(this.svg.firstChild);
    this.nodes = [];
    for (var a = this.zoomed.parent; a; a = a.parent) this.drawFrame(a, 0, width, 'ancestor');
    this.drawSubtree(this.zoomed, width);
    // As tall as the frames drawn: a deep stack too narrow to draw leaves no blank below.
    var depth = this.nodes.reduce(function (d, n) { return Math.max(d, n.depth); }, 0);
    var height = (depth + 1) * ROW + 2;
    this.svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    this.svg.setAttribute('height', height);
    // What was drawn, for people reading the DOM and for tests (--dump-dom).
    this.el.setAttribute('data-frames', String(this.nodes.length));
    this.updateStatus();
  };

  // The zoomed frame's path, and the share of time that matches the search.
  FlameGraph.prototype.updateStatus = function () {
    var parts = [];
    if (this.zoomed !== this.root) parts.push('zoomed: ' + this.zoomed.name);
    if (this.query) {
      var matched = 0, q = this.query;
      (function walk(n) {
        if (n.type !== 'root' && n.name.toLowerCase().indexOf(q) >= 0) {
          matched += n.value; // do not count nested matches twice
          return;
        }
        n.children.forEach(walk);
      })(this.root);
      parts.push('matched: ' + fmtNs(matched) + ' (' + pct(matched, this.root.value) + ')');
    }
    this.status.textContent = parts.join(' \u00b7 ');
  };

  FlameGraph.prototype.zoom = function (node) {
    this.zoomed = node;
    this.render();
  };

  FlameGraph.prototype.nodeAt = function (target) {
    var g = target && target.closest ? target.closest('g.frame') : null;
    return g ? this.nodes[Number(g.getAttribute('data-i'))] : null;
  };

  FlameGraph.prototype.showTip = function (node, ev) {
    var tip = this.tip, total = this.root.value;
    tip.textContent = '';
    var b = document.createElement('b');
    b.textContent = node.name;
    tip.appendChild(b);
    var lines = [
      TYPE_NAMES[node.type] || node.type,
      fmtNs(node.value) + ' \u00b7 ' + pct(node.value, total) + ' of all'
    ];
    if (this.zoomed !== this.root && node.depth > this.zoomed.depth)
      lines.push(pct(node.value, this.zoomed.value) + ' of ' + this.zoomed.name);
    var self = node.value - node.children.reduce(function (s, c) {
      return s + c.value;
    }, 0);
    if (node.children.length && self > 0) lines.push('self ' + fmtNs(self));
    lines.forEach(function (l, i) {
      var s = document.createElement('span');
      s.textContent = l;
      if (i) tip.appendChild(document.createElement('br'));
      tip.appendChild(s);
    });
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = Math.max(8, ev.clientX - r.width - 14);
    if (y + r.height > window.innerHeight - 8) y = Math.max(8, ev.clientY - r.height - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  };

  FlameGraph.prototype.bind = function () {
    var self = this;
    this.svg.addEventListener('click', function (ev) {
      var node = self.nodeAt(ev.target);
      if (node) self.zoom(node);
    });
    this.svg.addEventListener('mousemove', function (ev) {
      var node = self.nodeAt(ev.target);
      if (node) self.showTip(node, ev);
      else self.tip.hidden = true;
    });
    this.svg.addEventListener('mouseleave', function () {
      self.tip.hidden = true;
    });
    var reset = this.el.querySelector('.flame-reset');
    if (reset) reset.addEventListener('click', function () {
      self.zoom(self.root);
    });
    var search = this.el.querySelector('.flame-search');
    if (search) search.addEventListener('input', function () {
      self.query = search.value.trim().toLowerCase();
      self.render();
    });
    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        self.render();
      }, 100);
    });
  };

  function main() {
    var src = document.getElementById('snag-data');
    var data = src ? JSON.parse(src.textContent) : {};
    var tip = document.createElement('div');
    tip.className = 'flame-tip';
    tip.hidden = true;
    document.body.appendChild(tip);
    var graphs = data.flamegraphs || [];
    Array.prototype.forEach.call(document.querySelectorAll('.flame[data-graph]'), function (el) {
      var id = el.getAttribute('data-graph');
      graphs.forEach(function (graph) {
        if (graph.id === id) new FlameGraph(el, graph, tip);
      });
    });
  }

  main();
})();
