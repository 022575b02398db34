// Pickers of the review forms, enhanced: search the directory as you type (no page
// reload) and add a match to its field with one button. Without this script the same
// boxes work by posting the form (see templates/admin/reviews/_picker.html).
// No dependencies; text goes into the page as text (textContent), never as HTML.
(function () {
  'use strict';

  const ENDPOINT = '/admin/access-reviews/directory';
  const WAIT_MS = 250;

  function lines(text) {
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  }

  function has(field, value) {
    const wanted = value.trim().toLowerCase();
    return lines(field.value).some((l) => l.toLowerCase() === wanted);
  }

  function add(field, value, single) {
    if (single) {
      field.value = value;
      return;
    }
    if (has(field, value)) return;
    const text = field.value.replace(/\s+$/, '');
    field.value = text === '' ? value : text + '\n' + value;
  }

  function setup(picker) {
    const name = picker.dataset.picker;
    const kind = picker.dataset.kind;
    const single = picker.dataset.single === 'true';
    const field = document.getElementById(name);
    const box = picker.querySelector('input[type="search"]');
    const button = picker.querySelector('button[name="find"]');
    const results = picker.querySelector('.picker-results');
    if (!field || !box || !button || !results) return;

    let timer = null;
    let latest = 0;

    function message(text) {
      results.replaceChildren();
      const p = document.createElement('p');
      p.textContent = text;
      results.append(p);
    }

    function render(query, found) {
      results.replaceChildren();
      if (found.choices.length === 0) {
        message('No matches start with “' + query + '”. Check the spelling, or type less of the name.');
        return;
      }
      const list = document.createElement('ul');
      list.className = 'picker-list';
      list.setAttribute('aria-label', 'Matches for “' + query + '”');
      for (const choice of found.choices) {
        const item = document.createElement('li');
        const label = document.createElement('span');
        label.className = 'pick-name';
        label.textContent = choice.label;
        if (choice.detail && choice.detail !== choice.label) {
          const detail = document.createElement('span');
          detail.className = 'hint';
          detail.textContent = ' ' + choice.detail;
          label.append(detail);
        }
        const pick = document.createElement('button');
        pick.type = 'button';
        pick.className = 'button button-secondary';
        const chosen = !single && has(field, choice.value);
        pick.textContent = chosen ? 'Added' : single ? 'Choose' : 'Add';
        pick.disabled = chosen;
        pick.setAttribute('aria-label', (chosen ? 'Added: ' : single ? 'Choose ' : 'Add ') + choice.label);
        pick.addEventListener('click', () => {
          add(field, choice.value, single);
          if (!single) {
            pick.textContent = 'Added';
            pick.disabled = true;
            pick.setAttribute('aria-label', 'Added: ' + choice.label);
          }
          status.textContent = choice.label + (single ? ' chosen.' : ' added.');
        });
        item.append(label, pick);
        list.append(item);
      }
      results.append(list);
      if (found.more) {
        const more = document.createElement('p');
        more.className = 'hint';
        more.textContent = 'More start with “' + query + '”: type more of the name to see them.';
        results.append(more);
      }
    }

    async function search() {
      const query = box.value.trim();
      const mine = ++latest;
      if (query === '') {
        results.replaceChildren();
        return;
      }
      const url = ENDPOINT + '?kind=' + encodeURIComponent(kind) + '&q=' + encodeURIComponent(query);
      try {
        const res = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        if (mine !== latest) return; // a newer search has started
        if (!res.ok) {
          message('The search did not work (' + res.status + '). Press Search to try again without the script.');
          return;
        }
        render(query, await res.json());
      } catch (e) {
        if (mine === latest) message('The search did not work. Check your connection and try again.');
      }
    }

    // Announces what was added, for screen readers.
    const status = document.createElement('p');
    status.className = 'visually-hidden';
    status.setAttribute('role', 'status');
    picker.append(status);

    box.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(search, WAIT_MS);
    });
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault(); // Enter searches here; it does not save the form
        clearTimeout(timer);
        search();
      }
    });
    button.addEventListener('click', (event) => {
      event.preventDefault();
      clearTimeout(timer);
      search();
    });
    // The box's text stays out of the post: the server would take it for a search.
    box.form?.addEventListener('submit', () => {
      box.value = '';
    });
  }

  document.querySelectorAll('[data-picker]').forEach(setup);
})();
