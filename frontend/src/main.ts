/** Entry: load the deployment from the backend, build the AppContext, route by path
 * (history API; `walrus serve` answers index.html for unknown non-API paths). */

import "./style.css";
import { createApi, type Api } from "./api";
import { createContext, type AppContext, type Deployment, type NoticeKind } from "./context";
import { h, mount } from "./dom";
import { Wallet } from "./wallet";

type PageModule = { render(root: HTMLElement, ctx: AppContext): void | Promise<void> };

interface Route {
  path: string;
  title: string;
  /** In the nav bar. */
  nav: boolean;
  load: () => Promise<PageModule>;
}

const ROUTES: Route[] = [
  { path: "/upload", title: "Upload", nav: true, load: () => import("./pages/upload") },
  { path: "/blobs", title: "My blobs", nav: true, load: () => import("./pages/blobs") },
  { path: "/staking", title: "Staking", nav: true, load: () => import("./pages/staking") },
  { path: "/governance", title: "Governance", nav: true, load: () => import("./pages/governance") },
  { path: "/private", title: "Private files", nav: true, load: () => import("./pages/private") },
  { path: "/blob/", title: "Blob", nav: false, load: () => import("./pages/blob") },
];

function routeOf(pathname: string): Route | undefined {
  if (pathname === "/" || pathname === "") return ROUTES[0];
  return ROUTES.find((route) =>
    route.path.endsWith("/") ? pathname.startsWith(route.path) : pathname === route.path,
  );
}

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const walletBox = document.getElementById("wallet") as HTMLElement;
const notices = document.getElementById("notices") as HTMLElement;

/** A toast; a later notice with the same `key` replaces it (a transaction's pending ->
 * confirmed). Errors stay until dismissed; others go after 8 s. */
function notify(kind: NoticeKind, text: string, key?: string): void {
  const notice = h(
    "div",
    {
      class: `notice notice-${kind}`,
      role: kind === "error" ? "alert" : "status",
      "data-key": key ?? null,
    },
    h("span", {}, text),
    h(
      "button",
      { class: "notice-close", "aria-label": "Dismiss", onclick: () => notice.remove() },
      "×",
    ),
  );
  const previous = key
    ? [...notices.children].find((child) => (child as HTMLElement).dataset.key === key)
    : undefined;
  if (previous) previous.replaceWith(notice);
  else notices.append(notice);
  while (notices.children.length > 3) notices.firstElementChild?.remove();
  if (kind !== "error") setTimeout(() => notice.remove(), 8000);
}

function navigate(path: string): void {
  if (path !== window.location.pathname + window.location.search) {
    history.pushState({}, "", path);
  }
  void renderPage();
}

let ctx: AppContext | null = null;
let renderCount = 0;

function renderNav(): void {
  const current = routeOf(window.location.pathname);
  mount(
    nav,
    h(
      "ul",
      {},
      ROUTES.filter((route) => route.nav).map((route) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: route.path,
              "data-link": true,
              "aria-current": route === current ? "page" : null,
            },
            route.title,
          ),
        ),
      ),
    ),
  );
}

function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

function renderWallet(context: AppContext): void {
  const state = context.wallet;
  const guard = (action: () => Promise<unknown>) => async () => {
    try {
      await action();
    } catch (error) {
      notify("error", context.explain(error));
    }
  };
  if (!state.available) {
    mount(walletBox, h("span", { class: "wallet-missing", id: "wallet-status" }, "No wallet found"));
    return;
  }
  if (state.address === null) {
    mount(
      walletBox,
      h("button", { class: "primary", id: "connect", onclick: guard(() => context.connect()) }, "Connect wallet"),
    );
    return;
  }
  const wrongChain = state.chainId !== context.deployment.chainId;
  mount(
    walletBox,
    h("span", { class: "account", id: "account", title: state.address }, shortAddress(state.address)),
    wrongChain
      ? h(
          "button",
          { class: "warning", id: "switch-network", onclick: guard(() => context.switchNetwork()) },
          `Wrong network: switch to ${context.deployment.chainName}`,
        )
      : null,
    h("button", { class: "link", id: "disconnect", onclick: () => context.disconnect() }, "Disconnect"),
  );
}

async function renderPage(): Promise<void> {
  renderNav();
  const route = routeOf(window.location.pathname);
  const mine = ++renderCount;
  if (ctx === null) return;
  if (route === undefined) {
    document.title = "Not found · Walrus";
    mount(main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/", "data-link": true }, "Go to Upload")));
    return;
  }
  document.title = `${route.title} · Walrus`;
  const page = await route.load();
  if (mine !== renderCount) return; // a newer navigation won
  const root = h("section", { class: "page", "aria-label": route.title });
  mount(main, root);
  try {
    await page.render(root, ctx);
  } catch (error) {
    mount(root, h("p", { class: "error", role: "alert" }, ctx.explain(error)));
  }
}

async function loadDeployment(api: Api): Promise<Deployment> {
  return api.get<Deployment>("/v1/deployment");
}

async function start(): Promise<void> {
  const api = createApi();
  renderNav();
  mount(main, h("p", { class: "muted" }, "Loading the deployment…"));
  let deployment: Deployment;
  try {
    deployment = await loadDeployment(api);
  } catch (error) {
    mount(
      main,
      h(
        "div",
        { class: "card error-card", role: "alert" },
        h("h1", {}, "The backend does not answer"),
        h("p", {}, error instanceof Error ? error.message : String(error)),
        h("button", { class: "primary", onclick: () => void start() }, "Try again"),
      ),
    );
    return;
  }
  const wallet = new Wallet();
  ctx = createContext(deployment, api, wallet, notify, navigate);
  const context = ctx;
  let seen = `${wallet.state.address}|${wallet.state.chainId}`;
  wallet.onChange(() => {
    renderWallet(context);
    const now = `${wallet.state.address}|${wallet.state.chainId}`;
    if (now !== seen) {
      seen = now;
      void renderPage();
    }
  });
  renderWallet(context);
  await wallet.restore();
  await renderPage();
}

document.addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest("a[data-link]");
  if (!(link instanceof HTMLAnchorElement) || event.ctrlKey || event.metaKey || event.shiftKey) {
    return;
  }
  if (link.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
});
window.addEventListener("popstate", () => void renderPage());

void start();
