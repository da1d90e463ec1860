// What every dashboard page must be for people, checked in the page itself (returns problems).
() => {
  const problems = [];
  const named = (el) =>
    (el.labels && el.labels.length) ||
    el.getAttribute("aria-label") ||
    el.getAttribute("aria-labelledby") ||
    el.closest("label");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    if (!named(el)) problems.push("unlabelled " + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll("button, a")) {
    if (!(el.getAttribute("aria-label") || el.textContent.trim())) {
      problems.push("nameless " + el.outerHTML.slice(0, 80));
    }
  }
  const mains = document.querySelectorAll("main").length;
  if (mains !== 1) problems.push("main landmarks: " + mains);
  if (!document.title.trim()) problems.push("no title");
  if (!document.documentElement.lang) problems.push("no lang");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not one h1");
  if (document.querySelectorAll("script:not([src])").length) problems.push("inline script");
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push("wider than the screen");
  }
  return problems;
}
