// The LDAP connection form, enhanced: choosing a preset fills the filters and the UPN
// attribute with its defaults, unless they hold something the admin wrote. Without this
// script the same happens on the server when the fields are left empty.
(function () {
  'use strict';

  function setup(form) {
    const radios = Array.from(form.querySelectorAll('input[name="preset"]'));
    const fields = {
      usersFilter: form.querySelector('#users_filter'),
      groupsFilter: form.querySelector('#groups_filter'),
      upn: form.querySelector('#upn_attribute'),
    };
    // A field may be replaced when it is empty or holds some preset's default.
    function replaceable(key, field) {
      const value = field.value.trim();
      return value === '' || radios.some((r) => r.dataset[key] === value);
    }
    function fill(radio) {
      for (const [key, field] of Object.entries(fields)) {
        if (field && replaceable(key, field)) field.value = radio.dataset[key];
      }
    }
    for (const radio of radios) {
      radio.addEventListener('change', () => {
        if (radio.checked) fill(radio);
      });
    }
    const checked = radios.find((r) => r.checked);
    if (checked) fill(checked);
  }

  for (const form of document.querySelectorAll('form[data-ldap-presets]')) setup(form);
})();
