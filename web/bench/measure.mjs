// The five figures of issue #8, measured in headless Chromium. Each figure is
// read inside the page (performance.now(), from the navigation's start) so the
// driver's own round trips do not count, except where noted.
//
// The page is found through plain HTML hooks that any login form has
// (autocomplete=username, type=password, a submit button) and through the
// rooms' names; nothing here depends on the client's CSS classes.
import { roomName, messageBody } from "./seed.mjs";

// Predicates run in the page (through DevTools, so the page's CSP, which forbids
// eval, does not apply to them) and answer performance.now() once they hold.

/** The login form's password field is laid out. */
const LOGIN_VISIBLE = () => {
  const field = document.querySelector("input[type=password]");
  const shown = field !== null && field.offsetParent !== null && field.getBoundingClientRect().height > 0;
  return shown ? performance.now() : false;
};

/** `text` is on screen: laid out, inside the window and inside every scrolled ancestor. */
const TEXT_SHOWN = (text) => {
  const onScreen = (element) => {
    const rect = element.getBoundingClientRect();
    if (rect.height === 0 || rect.bottom <= 0 || rect.top >= innerHeight) return false;
    for (let a = element.parentElement; a; a = a.parentElement) {
      if (a.scrollHeight > a.clientHeight + 1 && getComputedStyle(a).overflowY !== "visible") {
        const box = a.getBoundingClientRect();
        if (rect.bottom <= box.top || rect.top >= box.bottom) return false;
      }
    }
    return true;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeValue.includes(text) && node.parentElement && onScreen(node.parentElement)) {
      return performance.now();
    }
  }
  return false;
};

/** The open room's header names it: a heading inside the main landmark. */
const ROOM_OPEN = (name) =>
  [...document.querySelectorAll("main h1, main h2, [role=main] h1, [role=main] h2")].some((h) =>
    h.textContent.includes(name),
  )
    ? performance.now()
    : false;

/** Poll `predicate` on every animation frame; resolves with the time it first held. */
async function timeWhen(page, predicate, arg, timeout = 30_000) {
  const handle = await page.waitForFunction(predicate, arg, { polling: "raf", timeout });
  return handle.jsonValue();
}

export async function jsBeforeLogin(page, base) {
  await page.goto(base + "/", { waitUntil: "commit" });
  const visibleAt = await timeWhen(page, LOGIN_VISIBLE);
  const resources = await page.evaluate(() =>
    performance.getEntriesByType("resource").map((r) => ({
      url: r.name,
      start: r.startTime,
      encoded: r.encodedBodySize,
      decoded: r.decodedBodySize,
    })),
  );
  const before = resources.filter((r) => r.start <= visibleAt);
  const js = before.filter((r) => /\.m?js(\?|$)/.test(r.url));
  return {
    loginVisibleMs: visibleAt,
    jsBeforeLoginGzipKB: js.reduce((sum, r) => sum + r.encoded, 0) / 1024,
    jsBeforeLoginFiles: js.length,
    wasmBeforeLogin: before.some((r) => /\.wasm(\?|$)/.test(r.url)),
  };
}

export async function reloadInteractive(page, newest) {
  await page.reload({ waitUntil: "commit" });
  return { reloadInteractiveMs: await timeWhen(page, TEXT_SHOWN, newest, 60_000) };
}

/** Median time from a click on a room in the list to its header naming it. */
export async function roomSwitch(page, names) {
  const times = [];
  for (const name of names) {
    const row = page.getByText(name, { exact: true }).first();
    await row.scrollIntoViewIfNeeded();
    const handle = await row.elementHandle();
    const elapsed = await page.evaluate(
      ([element, roomName]) =>
        new Promise((resolve, reject) => {
          // ROOM_OPEN, inlined: a function cannot be handed to the page.
          const open = () =>
            [...document.querySelectorAll("main h1, main h2, [role=main] h1, [role=main] h2")].some(
              (h) => h.textContent.includes(roomName),
            );
          const start = performance.now();
          element.click();
          const check = () => {
            if (open()) resolve(performance.now() - start);
            else if (performance.now() - start > 10_000) reject(new Error(`${roomName} did not open`));
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        }),
      [handle, name],
    );
    times.push(elapsed);
  }
  times.sort((a, b) => a - b);
  return { roomSwitchMedianMs: times[Math.floor(times.length / 2)], roomSwitchSamples: times.length };
}

/**
 * Open the history room and scroll back until its first message shows, then
 * collect garbage and read the JS heap through the DevTools protocol.
 */
export async function heapAfterScrollBack(page, cdp, messages) {
  await page.getByText("Historique", { exact: true }).first().click();
  await page.waitForFunction(ROOM_OPEN, "Historique");
  const first = messageBody(0);
  const deadline = Date.now() + Math.max(60_000, messages * 40);
  let steps = 0;
  while (!(await page.evaluate(TEXT_SHOWN, first))) {
    if (Date.now() > deadline) throw new Error(`did not reach "${first}" by scrolling back`);
    // Scroll every scrollable element of the main landmark to its top, as a reader would.
    await page.evaluate(() => {
      for (const el of document.querySelectorAll("main *, [role=main] *")) {
        if (el.scrollHeight > el.clientHeight + 10) el.scrollTop = 0;
      }
    });
    await page.mouse.wheel(0, -3000);
    await page.waitForTimeout(150);
    steps++;
  }
  await cdp.send("HeapProfiler.collectGarbage");
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  return { heapAfterScrollBackMB: usedSize / (1024 * 1024), scrollBackSteps: steps };
}

export { roomName };
