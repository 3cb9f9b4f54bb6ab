/**
 * Outgoing messages: markdown to a sanitised `formatted_body` (marked +
 * DOMPurify), with mentions as matrix.to links. Incoming HTML goes through
 * the same allowlist (the spec's suggested tags) before it is shown.
 */
import DOMPurify from "dompurify";
import { Marked } from "marked";

const ALLOWED_TAGS = [
  "font", "del", "s", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
  "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br", "div", "table", "thead", "tbody", "tr",
  "th", "td", "caption", "pre", "span", "details", "summary",
];
const ALLOWED_ATTR = ["href", "data-mx-bg-color", "data-mx-color", "color", "start", "class", "data-mx-spoiler", "colspan", "rowspan"];

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// Raw HTML typed by the user is shown as text, never interpreted.
const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html(token) {
      return escapeHtml(token.text);
    },
  },
});

let hooked = false;

function purify(html: string): string {
  if (!hooked) {
    // Links open in a new tab and only http(s), mailto and matrix.to survive.
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.hasAttribute("class") && !/^language-[\w-]+$/.test(node.getAttribute("class") ?? "")) {
        node.removeAttribute("class");
      }
      if (node.tagName === "A") {
        const href = node.getAttribute("href") ?? "";
        if (!/^(https?:|mailto:)/i.test(href)) node.removeAttribute("href");
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noreferrer noopener");
        // A link to a person (matrix.to/#/@user) is a mention: shown as a pill.
        if (/^https:\/\/matrix\.to\/#\/(@|%40)/i.test(href)) node.setAttribute("class", "mention-pill");
      }
    });
    hooked = true;
  }
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  });
}

const SANITISED_MAX = 2000;
const sanitised = new Map<string, string>();

/**
 * Received `formatted_body` made safe to insert into the page. The timeline
 * maps its events again on every change, so results are remembered (bounded).
 */
export function sanitizeHtml(html: string): string {
  const hit = sanitised.get(html);
  if (hit !== undefined) return hit;
  // Reply fallbacks are redundant with the reply preview we draw ourselves.
  const clean = purify(html.replace(/<mx-reply>[\s\S]*?<\/mx-reply>/gi, ""));
  if (sanitised.size >= SANITISED_MAX) sanitised.delete(sanitised.keys().next().value as string);
  sanitised.set(html, clean);
  return clean;
}

export interface Mention {
  userId: string;
  name: string;
}

export interface MessageContent {
  msgtype: "m.text" | "m.emote";
  body: string;
  format?: "org.matrix.custom.html";
  formatted_body?: string;
  "m.mentions": { user_ids?: string[] };
}

/** Whether marked added nothing but paragraphs and line breaks. */
function isPlain(text: string, html: string): boolean {
  const stripped = html.trim().replace(/^<p>/, "").replace(/<\/p>$/, "").replace(/<br>\n?/g, "\n");
  return stripped === escapeHtml(text.trim());
}

/**
 * The content of a text message typed by the user. "/me waves" is an emote.
 * Mentions are the people picked in the composer: their names in the text
 * become links in the HTML and their IDs go in m.mentions.
 */
export function composeMessage(input: string, mentions: readonly Mention[] = []): MessageContent {
  let text = input.trim();
  let msgtype: MessageContent["msgtype"] = "m.text";
  if (text.startsWith("/me ")) {
    msgtype = "m.emote";
    text = text.slice(4).trim();
  }
  const present = mentions.filter((m) => text.includes(m.name));
  let html = marked.parse(text) as string;
  const content: MessageContent = { msgtype, body: text, "m.mentions": {} };
  if (present.length > 0) {
    content["m.mentions"] = { user_ids: [...new Set(present.map((m) => m.userId))] };
    for (const m of present) {
      const link = `<a href="https://matrix.to/#/${encodeURIComponent(m.userId)}">${escapeHtml(m.name)}</a>`;
      html = html.split(escapeHtml(m.name)).join(link);
    }
  } else if (isPlain(text, html)) {
    return content;
  }
  content.format = "org.matrix.custom.html";
  content.formatted_body = purify(html).trim();
  return content;
}
