// Checks the card form before it is sent (the server checks it again: the page works without
// this script), and adds a print button to receipts. Same origin, no inline script.
(function () {
  "use strict";
  function luhn(s) {
    var sum = 0, dbl = false;
    for (var i = s.length - 1; i >= 0; i--) {
      var d = s.charCodeAt(i) - 48;
      if (dbl) { d *= 2; if (d > 9) { d -= 9; } }
      sum += d; dbl = !dbl;
    }
    return sum % 10 === 0;
  }
  function mark(form, name, msg) {
    var input = form.elements[name];
    var box = input.closest(".field");
    var err = box.querySelector(".error");
    if (!err) {
      err = document.createElement("span");
      err.className = "error";
      err.id = name + "-error";
      input.parentNode.insertBefore(err, input);
    }
    err.textContent = msg;
    box.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", err.id);
  }
  var form = document.getElementById("card-form");
  if (form) {
    form.addEventListener("submit", function (ev) {
      var bad = null;
      var num = form.elements.card_number.value.replace(/[\s-]/g, "");
      if (!/^[0-9]{12,19}$/.test(num) || !luhn(num)) { mark(form, "card_number", form.dataset.errNumber); bad = bad || "card_number"; }
      var m = parseInt(form.elements.expiry_month.value, 10), y = parseInt(form.elements.expiry_year.value, 10);
      if (y < 100) { y += 2000; }
      var now = new Date();
      if (!(m >= 1 && m <= 12 && y >= 2000)) { mark(form, "expiry_month", form.dataset.errExpiry); bad = bad || "expiry_month"; }
      else if (y < now.getFullYear() || (y === now.getFullYear() && m < now.getMonth() + 1)) { mark(form, "expiry_month", form.dataset.errExpired); bad = bad || "expiry_month"; }
      if (!/^[0-9]{3,4}$/.test(form.elements.cvc.value.trim())) { mark(form, "cvc", form.dataset.errCvc); bad = bad || "cvc"; }
      if (!form.elements.cardholder_name.value.trim()) { mark(form, "cardholder_name", form.dataset.errName); bad = bad || "cardholder_name"; }
      if (bad) { ev.preventDefault(); form.elements[bad].focus(); return; }
      var b = form.querySelector("button");
      if (b.dataset.sent) { ev.preventDefault(); return; }
      b.dataset.sent = "1";
    });
  }
  var p = document.getElementById("print");
  if (p) {
    var btn = document.createElement("button");
    btn.type = "button";
    btn.textContent = p.dataset.label;
    btn.addEventListener("click", function () { window.print(); });
    p.appendChild(btn);
  }
})();
