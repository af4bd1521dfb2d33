(() => {
  // Every page, once per browser tab (app/page_style.py adds this to the keys script): what
  // Streamlit gives no parameter for. (1) The drawing canvas gets an accessible name that says what
  // it is and where its keyboard alternative is. (2) A container keyed talk_live_NAME becomes a
  // polite live region: a screen reader reads its text when it changes (the draw page's verdicts).
  // A formula that scrolls sideways can take the focus, so a keyboard scrolls it too.
  // (3) prefers-reduced-motion goes to the server as the cookie talk_reduced_motion, read by
  // app/accessible.py, so Play and the sweep jump to their end; the tab reloads once when the
  // cookie has to change, since the server reads cookies when the session opens.
  // No HTML tag in this file, not even in a comment: Streamlit 1.67 then does not run the script.
  if (window.__talkAccessible) return;
  window.__talkAccessible = true;

  const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const cookie = /(^|;\s*)talk_reduced_motion=1(;|$)/.test(document.cookie);
  if (reduce !== cookie) {
    document.cookie = "talk_reduced_motion=" + (reduce ? "1" : "0") + "; path=/; SameSite=Lax; max-age=" +
      (reduce ? 31536000 : 0);
    if (!sessionStorage.getItem("talkMotionReloaded")) {
      sessionStorage.setItem("talkMotionReloaded", "1");
      location.reload();
      return;
    }
  }

  const CANVAS_NAME = "Drawing area: draw a digit with a mouse, a pen or a finger. Without a pointer, " +
    "choose Pick a test digit under Input: it does everything drawing does.";
  const label = () => {
    document.querySelectorAll(".st-key-draw_canvas").forEach((box) => {
      const roots = [box, ...[...box.querySelectorAll("*")].filter((e) => e.shadowRoot).map((e) => e.shadowRoot)];
      // The component stacks its canvases (background, drawing, the one under the pointer): the
      // top one is named, the ones under it hidden, so the name is read once.
      roots.forEach((root) => {
        const canvases = [...root.querySelectorAll("canvas")];
        canvases.forEach((canvas, i) => {
          const top = i === canvases.length - 1;
          if (top && canvas.getAttribute("aria-label") !== CANVAS_NAME) {
            canvas.setAttribute("role", "img");
            canvas.setAttribute("aria-label", CANVAS_NAME);
          } else if (!top && canvas.getAttribute("aria-hidden") !== "true") {
            canvas.setAttribute("aria-hidden", "true");
          }
        });
      });
    });
    // A formula wider than the screen scrolls in its own box (page.css): reachable by the keyboard.
    document.querySelectorAll(".katex-display").forEach((box) => {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && box.getAttribute("tabindex") !== "0") {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Formula (scrolls sideways)");
      } else if (!scrolls && box.hasAttribute("tabindex")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
    document.querySelectorAll("[class*='st-key-talk_live_']").forEach((region) => {
      if (region.getAttribute("aria-live") !== "polite") {
        region.setAttribute("role", "status");
        region.setAttribute("aria-live", "polite");
        region.setAttribute("aria-atomic", "true");
      }
    });
  };
  label();
  window.addEventListener("resize", label);
  setInterval(label, 1000);  // a component draws inside its shadow root, which no observer here sees
  let queued = false;  // one pass per frame, however many mutations Streamlit makes
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; label(); });
  }).observe(document.body, {childList: true, subtree: true});
})();
