// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { composeMessage, sanitizeHtml } from "./markdown";

describe("composeMessage", () => {
  it("sends plain text without a formatted body", () => {
    expect(composeMessage("Bonjour à tous")).toEqual({ msgtype: "m.text", body: "Bonjour à tous", "m.mentions": {} });
    expect(composeMessage("ligne 1\nligne 2").format).toBeUndefined();
  });

  it("renders markdown into formatted_body and keeps the source as body", () => {
    const content = composeMessage("**important** et `code`");
    expect(content.body).toBe("**important** et `code`");
    expect(content.format).toBe("org.matrix.custom.html");
    expect(content.formatted_body).toBe("<p><strong>important</strong> et <code>code</code></p>");
  });

  it("shows raw HTML typed by the user as text and strips scripts", () => {
    const content = composeMessage("*a* <script>alert(1)</script><img src=x onerror=alert(1)>");
    expect(content.formatted_body).not.toContain("<script");
    expect(content.formatted_body).not.toContain("<img");
    expect(content.formatted_body).toContain("&lt;script&gt;");
  });

  it("drops javascript: links from markdown", () => {
    const content = composeMessage("[clic](javascript:alert(1)) et [site](https://example.org)");
    expect(content.formatted_body).not.toContain("javascript:");
    expect(content.formatted_body).toContain('href="https://example.org"');
  });

  it("turns picked mentions into matrix.to links and m.mentions", () => {
    const content = composeMessage("Merci Bob Martin !", [{ userId: "@bob:hs", name: "Bob Martin" }]);
    expect(content["m.mentions"]).toEqual({ user_ids: ["@bob:hs"] });
    expect(content.formatted_body).toContain('<a href="https://matrix.to/#/%40bob%3Ahs"');
    expect(content.formatted_body).toContain(">Bob Martin</a>");
  });

  it("makes /me an emote", () => {
    expect(composeMessage("/me salue")).toMatchObject({ msgtype: "m.emote", body: "salue" });
  });
});

describe("sanitizeHtml", () => {
  it("keeps the spec's formatting tags and removes the rest", () => {
    const html = sanitizeHtml(
      '<p onclick="x()"><b>gras</b> <iframe src="https://evil"></iframe><a href="javascript:x">l</a><style>*{}</style></p>',
    );
    expect(html).toContain("<b>gras</b>");
    expect(html).not.toMatch(/iframe|onclick|javascript|style/);
  });

  it("drops the reply fallback and opens links in a new tab", () => {
    const html = sanitizeHtml('<mx-reply><blockquote>old</blockquote></mx-reply><a href="https://a.fr">a</a>');
    expect(html).not.toContain("old");
    expect(html).toContain('target="_blank"');
    expect(html).toContain('rel="noreferrer noopener"');
  });

  it("shows links to people as mention pills", () => {
    const html = sanitizeHtml('<a href="https://matrix.to/#/@bob:hs" class="evil">Bob</a> <a href="https://exemple.fr" class="x">site</a>');
    expect(html).toContain('class="mention-pill"');
    expect(html).not.toContain("evil");
    expect(html.match(/class=/g)?.length).toBe(1);
  });
});
