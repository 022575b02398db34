// Progressive enhancement of a review page: everything works without it.
// - "Select all on this page" checkbox in the table header;
// - the "Accept N recommendations" button says when it applies to the ticked rows only;
// - keyboard: j/k move between rows, x selects the current row, a/d/u decide for the
//   selected rows (or the current one if none is selected).
// Rows the reviewer may not decide (their own access) have no box.
(function () {
  'use strict';
  var form = document.getElementById('decide');
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll('tbody tr[data-item]'));
  var boxes = rows.map(function (r) { return r.querySelector('input[type=checkbox]'); });
  var real = boxes.filter(function (b) { return b; });
  var accept = document.getElementById('accept');
  var acceptLabel = accept ? accept.textContent : '';
  function relabel() {
    if (!accept) { return; }
    var ticked = real.filter(function (b) { return b.checked; }).length;
    accept.textContent = ticked ? 'Accept recommendations for the ' + ticked + ' selected' : acceptLabel;
  }
  form.addEventListener('change', relabel);
  var head = form.querySelector('thead th.select');
  if (head && real.length) {
    var all = document.createElement('input');
    all.type = 'checkbox';
    all.id = 'select-all';
    var label = document.createElement('label');
    label.htmlFor = 'select-all';
    label.className = 'visually-hidden';
    label.textContent = 'Select everyone on this page';
    head.textContent = '';
    head.appendChild(all);
    head.appendChild(label);
    all.addEventListener('change', function () {
      real.forEach(function (b) { b.checked = all.checked; });
      relabel();
    });
    form.addEventListener('change', function (e) {
      if (e.target !== all && e.target.name === 'item') {
        all.checked = real.every(function (b) { return b.checked; });
      }
    });
  }
  var current = -1;
  function setCurrent(i) {
    if (i < 0 || i >= rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove('is-current'); }
    current = i;
    rows[i].classList.add('is-current');
    var box = boxes[i];
    if (box) { box.focus(); } else { rows[i].scrollIntoView({ block: 'nearest' }); }
  }
  function decide(action) {
    var chosen = boxes.filter(function (b) { return b && b.checked; });
    if (!chosen.length && current >= 0 && boxes[current]) { boxes[current].checked = true; }
    var button = form.querySelector('button[name=action][value=' + action + ']');
    if (button) { button.click(); }
  }
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (t && (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && t.type !== 'checkbox') || t.tagName === 'SELECT')) { return; }
    switch (e.key) {
      case 'j': setCurrent(current + 1); break;
      case 'k': setCurrent(current < 0 ? 0 : current - 1); break;
      case 'x': if (current >= 0 && boxes[current]) { boxes[current].checked = !boxes[current].checked; relabel(); } break;
      case 'a': decide('Approve'); break;
      case 'd': decide('Deny'); break;
      case 'u': decide('DontKnow'); break;
      default: return;
    }
    e.preventDefault();
  });
})();
