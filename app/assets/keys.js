(() => {
  // Every page, once per browser tab: the theme as an attribute of the html element (data-talk-theme: dark
  // where the app's background is dark; Streamlit tells the script only from a session's second
  // run on), and the presenter keys: ArrowRight / PageDown click Next, ArrowLeft / PageUp Previous
  // (what a clicker sends); a focused slider keeps its arrow keys. (Material-icon ligatures, "help"
  // or "school", are not part of link names: Streamlit 1.67 marks the icons aria-hidden itself;
  // tests/browser/test_presenter.py checks the names.) No HTML tag in this file, not even in a
  // comment: Streamlit 1.67 then does not run the script.
  if (window.__talkKeys) return;
  window.__talkKeys = true;
  const markTheme = () => {
    const app = document.querySelector(".stApp");
    if (!app) return;
    const rgb = (getComputedStyle(app).backgroundColor.match(/[\d.]+/g) || [255, 255, 255]).map(Number);
    const dark = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 128;
    document.documentElement.dataset.talkTheme = dark ? "dark" : "light";
  };
  // The draw page's canvas (streamlit-drawable-canvas) draws in its own shadow root, out of reach
  // of the page's style: its hover toolbar (undo, redo, reset) repeats the page's own Undo and
  // Clear buttons, so a rule inside that root hides it.
  const hideCanvasToolbar = () => {
    for (const host of document.querySelectorAll(".st-key-draw_canvas [data-testid='stBidiComponentIsolated']")) {
      const root = host.shadowRoot;
      if (!root || root.querySelector("style[data-talk]")) continue;
      const style = document.createElement("style");
      style.dataset.talk = "canvas";
      style.textContent = ".dc-toolbar {display: none !important;}";
      root.appendChild(style);
    }
  };
  const everySecond = () => { markTheme(); hideCanvasToolbar(); };
  everySecond();
  setInterval(everySecond, 1000);  // the reader may switch the theme; the canvas mounts late
  // Focus by mouse or by keyboard: a click on the slide focuses the main area (the README's advice
  // before stepping), and Chrome then draws its focus ring at the first key press; a mark on the
  // html element keeps the ring off for a click and gives it back at the first Tab (page.css).
  document.addEventListener("mousedown", () => { document.documentElement.dataset.talkFocus = "pointer"; }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab") document.documentElement.dataset.talkFocus = "keyboard";
  }, true);
  const NEXT = new Set(["ArrowRight", "PageDown"]), PREVIOUS = new Set(["ArrowLeft", "PageUp"]);
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (!NEXT.has(event.key) && !PREVIOUS.has(event.key)) return;
    const target = event.target;
    const tag = (target.tagName || "").toLowerCase();
    if (tag === "textarea" || target.isContentEditable || (tag === "input" && target.type !== "range")) return;
    const onSlider = (tag === "input" && target.type === "range") ||
      (target.getAttribute && target.getAttribute("role") === "slider");
    if (onSlider && event.key.startsWith("Arrow")) return;  // a focused slider keeps its arrow keys
    const which = NEXT.has(event.key) ? "present_next" : "present_previous";
    const button = document.querySelector(`.st-key-${which} button`);
    if (!button || button.disabled) return;
    event.preventDefault();
    event.stopPropagation();
    if (onSlider) target.blur();
    button.click();
  }, true);
})();
