"""Small but realistic web apps, written into a directory, with what discovery must find in them.

Each `build_*` function writes one app (or a monorepo) under `root` and returns an `AppSpec`: the exact
routes (entry files, in order), API routes, some layout chains, navigation edges and import/package facts
the app contains. The apps share one story — home, sign-up, login -> dashboard, product list -> product
detail -> cart -> checkout, settings — told in each framework's own idiom, with shared components,
aliases and a few traps (external links, `#hash` links, private folders, colocated files).

`tests/` is on sys.path (rootdir conftest), so import these as `from apps import build_nextjs_app`.
`git_commit_all(root)` turns the folder into a repository with one commit.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AppSpec:
    root: Path
    framework: str
    #: page route -> entry files (repo-relative, exact order).
    pages: dict[str, list[str]]
    #: API route -> entry files.
    api: dict[str, list[str]] = field(default_factory=dict)
    #: route -> exact layout files, outermost first (only for the routes listed).
    layouts: dict[str, list[str]] = field(default_factory=dict)
    #: (source route, target route) edges that must be found.
    edges: set[tuple[str, str]] = field(default_factory=set)
    #: edges found only through a layout (from_layout=True), as (source, target).
    layout_edges: set[tuple[str, str]] = field(default_factory=set)
    #: file -> files it must import (a subset of what discovery resolves).
    imports: dict[str, set[str]] = field(default_factory=dict)
    #: file -> external packages it must list.
    packages: dict[str, set[str]] = field(default_factory=dict)
    #: app root -> framework, for repositories with several apps.
    apps: dict[str, str] = field(default_factory=dict)
    #: app root -> {page route -> entry files}, for repositories with several apps.
    pages_by_app: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def routes(self) -> set[str]:
        return set(self.pages) | set(self.api)


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


def package_json(name: str, dependencies: dict[str, str], **extra: object) -> str:
    return (
        json.dumps({"name": name, "private": True, "version": "1.0.0", "dependencies": dependencies, **extra}, indent=2)
        + "\n"
    )


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Perceo Tests",
            "-c",
            "user.email=tests@perceo.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def git_commit_all(root: Path, message: str = "app") -> str:
    """Initialise `root` as a repository if needed, commit everything, return the commit SHA."""
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


# ---------------------------------------------------------------------------------------------------------
# Next.js, app router


def build_nextjs_app(root: Path) -> AppSpec:
    """Next.js 14 app router under `src/app`, tsconfig `@/*` alias inherited through `extends`."""
    write_files(
        root,
        {
            "package.json": package_json(
                "shop-next",
                {
                    "next": "14.2.3",
                    "react": "18.3.1",
                    "react-dom": "18.3.1",
                    "clsx": "2.1.0",
                    "@tanstack/react-query": "5.28.0",
                },
            ),
            "next.config.mjs": """
            /** @type {import('next').NextConfig} */
            const nextConfig = { reactStrictMode: true };
            export default nextConfig;
        """,
            "tsconfig.base.json": """
            {
              // shared compiler settings
              "compilerOptions": {
                "strict": true,
                "baseUrl": ".",
                "paths": { "@/*": ["./src/*"], "@lib/*": ["./src/lib/*"] },
              },
            }
        """,
            "tsconfig.json": """
            {
              "extends": "./tsconfig.base.json",
              "compilerOptions": { "jsx": "preserve", "plugins": [{ "name": "next" }] },
              "include": ["next-env.d.ts", "**/*.ts", "**/*.tsx"]
            }
        """,
            "src/app/layout.tsx": """
            import type { ReactNode } from "react";
            import { Navbar } from "@/components/Navbar";
            import "./globals.css";

            export const metadata = { title: "Shop" };

            export default function RootLayout({ children, modal }: { children: ReactNode; modal: ReactNode }) {
              return (
                <html lang="en">
                  <body>
                    <Navbar />
                    {children}
                    {modal}
                  </body>
                </html>
              );
            }
        """,
            "src/app/globals.css": """
            @import "./theme.css";
            body { margin: 0; }
        """,
            "src/app/theme.css": ":root { --brand: #0a6; }\n",
            "src/app/page.tsx": """
            import Link from "next/link";
            import { Hero } from "./_components/Hero";

            export default function HomePage() {
              return (
                <main>
                  <Hero />
                  <Link href="/products">Browse products</Link>
                  <Link href="/signup">Create an account</Link>
                  <a href="https://status.example.com">Status</a>
                </main>
              );
            }
        """,
            "src/app/_components/Hero.tsx": """
            export function Hero() {
              return <section className="hero">Fresh things, every day.</section>;
            }
        """,
            "src/app/_drafts/page.tsx": """
            export default function Draft() { return <p>not routable: private folder</p>; }
        """,
            "src/app/(auth)/layout.tsx": """
            export default function AuthLayout({ children }: { children: React.ReactNode }) {
              return <div className="auth-card">{children}</div>;
            }
        """,
            "src/app/(auth)/login/page.tsx": """
            import Link from "next/link";
            import { LoginForm } from "@/components/LoginForm";

            export default function LoginPage() {
              return (
                <>
                  <LoginForm />
                  <p>No account? <Link href="/signup">Sign up</Link></p>
                </>
              );
            }
        """,
            "src/app/(auth)/signup/page.tsx": """
            "use client";
            import { useRouter } from "next/navigation";
            import Link from "next/link";
            import { createAccount } from "@lib/api";

            export default function SignUpPage() {
              const router = useRouter();
              async function onSubmit(form: FormData) {
                await createAccount(form);
                router.replace("/dashboard");
              }
              return (
                <form action={onSubmit}>
                  <input name="email" />
                  <button type="submit">Sign up</button>
                  <Link href="/login">I already have an account</Link>
                </form>
              );
            }
        """,
            "src/app/dashboard/page.tsx": """
            import Link from "next/link";
            import { getOrders } from "@/lib/api";

            export default async function DashboardPage() {
              const orders = await getOrders();
              return (
                <section>
                  <h1>Your orders ({orders.length})</h1>
                  <Link href="/settings">Settings</Link>
                </section>
              );
            }
        """,
            "src/app/dashboard/loading.tsx": """
            export default function Loading() { return <p>Loading…</p>; }
        """,
            "src/app/products/page.tsx": """
            import { ProductCard } from "@/components/ProductCard";
            import { listProducts } from "@/lib/api";

            export default async function ProductsPage() {
              const products = await listProducts();
              return <ul>{products.map((p) => <ProductCard key={p.id} product={p} />)}</ul>;
            }
        """,
            "src/app/products/[id]/page.tsx": """
            import Link from "next/link";
            import { AddToCartButton } from "@/components/AddToCartButton";
            import { getProduct } from "@/lib/api";

            export default async function ProductPage({ params }: { params: { id: string } }) {
              const product = await getProduct(params.id);
              return (
                <article>
                  <h1>{product.name}</h1>
                  <AddToCartButton productId={product.id} />
                  <a href="#reviews">Reviews</a>
                  <a href="https://example.com/help">Help</a>
                  <Link href="/products">Back to products</Link>
                </article>
              );
            }
        """,
            "src/app/products/[id]/error.tsx": """
            "use client";
            export default function ProductError() { return <p>Could not load this product.</p>; }
        """,
            "src/app/@modal/default.tsx": "export default function Default() { return null; }\n",
            "src/app/@modal/(.)products/[id]/page.tsx": """
            import { getProduct } from "@/lib/api";

            export default async function ProductModal({ params }: { params: { id: string } }) {
              const product = await getProduct(params.id);
              return <dialog open>{product.name}</dialog>;
            }
        """,
            "src/app/cart/page.tsx": """
            import Link from "next/link";
            import { useCart } from "@/lib/cart";

            export default function CartPage() {
              const cart = useCart();
              return (
                <div>
                  {cart.items.length} items
                  <Link href="/checkout?step=address">Checkout</Link>
                </div>
              );
            }
        """,
            "src/app/checkout/page.tsx": """
            import { redirect } from "next/navigation";
            import { getSession } from "@/lib/session";

            export default async function CheckoutPage() {
              const session = await getSession();
              if (!session) {
                redirect("/login");
              }
              return <form>Pay now</form>;
            }
        """,
            "src/app/settings/layout.tsx": """
            export default function SettingsLayout({ children, notifications }: {
              children: React.ReactNode; notifications: React.ReactNode;
            }) {
              return <div>{children}{notifications}</div>;
            }
        """,
            "src/app/settings/page.tsx": """
            export default function SettingsPage() { return <h1>Settings</h1>; }
        """,
            "src/app/settings/@notifications/page.tsx": """
            export default function NotificationSettings() { return <p>Email me about orders</p>; }
        """,
            "src/app/docs/[[...slug]]/page.tsx": """
            export default function Docs({ params }: { params: { slug?: string[] } }) {
              return <p>{params.slug?.join("/") ?? "index"}</p>;
            }
        """,
            "src/app/blog/[...slug]/page.tsx": """
            export default function BlogPost() { return <article />; }
        """,
            "src/app/api/auth/route.ts": """
            import { NextResponse } from "next/server";

            export async function POST(request: Request) {
              return NextResponse.redirect(new URL("/dashboard", request.url));
            }
        """,
            "src/app/api/products/[id]/route.ts": """
            import { getProduct } from "@/lib/api";

            export async function GET(_: Request, { params }: { params: { id: string } }) {
              return Response.json(await getProduct(params.id));
            }
        """,
            "src/components/Navbar.tsx": """
            import Link from "next/link";
            import clsx from "clsx";

            export function Navbar() {
              return (
                <nav className={clsx("nav")}>
                  <Link href="/">Home</Link>
                  <Link href="/products">Products</Link>
                  <Link href="/cart">Cart</Link>
                </nav>
              );
            }
        """,
            "src/components/ProductCard.tsx": """
            import Link from "next/link";
            import type { Product } from "@/lib/types";

            export function ProductCard({ product }: { product: Product }) {
              return (
                <li>
                  <Link href={`/products/${product.id}`}>{product.name}</Link>
                </li>
              );
            }
        """,
            "src/components/AddToCartButton.tsx": """
            "use client";
            import { useRouter } from "next/navigation";
            import { addToCart } from "@/lib/cart";

            export function AddToCartButton({ productId }: { productId: string }) {
              const router = useRouter();
              return (
                <button onClick={async () => { await addToCart(productId); router.push("/cart"); }}>
                  Add to cart
                </button>
              );
            }
        """,
            "src/components/LoginForm.tsx": """
            "use client";
            import { useRouter } from "next/navigation";
            import { useMutation } from "@tanstack/react-query";
            import { login } from "@/lib/api";

            export function LoginForm() {
              const router = useRouter();
              const mutation = useMutation({ mutationFn: login, onSuccess: () => router.push("/dashboard") });
              return <form onSubmit={(e) => { e.preventDefault(); mutation.mutate(new FormData(e.currentTarget)); }} />;
            }
        """,
            "src/lib/api.ts": """
            import type { Product } from "./types";

            export async function login(form: FormData) { return fetch("/api/auth", { method: "POST", body: form }); }
            export async function createAccount(form: FormData) { return fetch("/api/signup", { body: form }); }
            export async function listProducts(): Promise<Product[]> { return []; }
            export async function getProduct(id: string): Promise<Product> { return { id, name: id, price: 1 }; }
            export async function getOrders() { return [] as string[]; }
        """,
            "src/lib/types.ts": """
            export interface Product { id: string; name: string; price: number }
        """,
            "src/lib/cart.ts": """
            export function useCart() { return { items: [] as string[] }; }
            export async function addToCart(id: string) { return id; }
        """,
            "src/lib/session.ts": """
            import { cookies } from "next/headers";
            export async function getSession() { return cookies().get("session")?.value ?? null; }
        """,
        },
    )
    app = "src/app"
    root_layouts = [f"{app}/layout.tsx"]
    auth_layouts = [*root_layouts, f"{app}/(auth)/layout.tsx"]
    return AppSpec(
        root=root,
        framework="nextjs",
        pages={
            "/": [f"{app}/page.tsx"],
            "/login": [f"{app}/(auth)/login/page.tsx"],
            "/signup": [f"{app}/(auth)/signup/page.tsx"],
            "/dashboard": [f"{app}/dashboard/page.tsx"],
            "/products": [f"{app}/products/page.tsx"],
            "/products/:id": [f"{app}/products/[id]/page.tsx", f"{app}/@modal/(.)products/[id]/page.tsx"],
            "/cart": [f"{app}/cart/page.tsx"],
            "/checkout": [f"{app}/checkout/page.tsx"],
            "/settings": [f"{app}/settings/page.tsx", f"{app}/settings/@notifications/page.tsx"],
            "/docs": [f"{app}/docs/[[...slug]]/page.tsx"],
            "/docs/*": [f"{app}/docs/[[...slug]]/page.tsx"],
            "/blog/*": [f"{app}/blog/[...slug]/page.tsx"],
        },
        api={
            "/api/auth": [f"{app}/api/auth/route.ts"],
            "/api/products/:id": [f"{app}/api/products/[id]/route.ts"],
        },
        layouts={
            "/": root_layouts,
            "/login": auth_layouts,
            "/dashboard": [*root_layouts, f"{app}/dashboard/loading.tsx"],
            "/products/:id": [*root_layouts, f"{app}/products/[id]/error.tsx"],
            "/settings": [*root_layouts, f"{app}/settings/layout.tsx"],
        },
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/login", "/signup"),
            ("/signup", "/dashboard"),
            ("/signup", "/login"),
            ("/dashboard", "/settings"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/products/:id", "/products"),
            ("/cart", "/checkout"),
            ("/checkout", "/login"),
        },
        layout_edges={("/dashboard", "/cart"), ("/settings", "/products"), ("/checkout", "/")},
        imports={
            f"{app}/layout.tsx": {"src/components/Navbar.tsx", f"{app}/globals.css"},
            f"{app}/globals.css": {f"{app}/theme.css"},
            f"{app}/(auth)/login/page.tsx": {"src/components/LoginForm.tsx"},
            f"{app}/(auth)/signup/page.tsx": {"src/lib/api.ts"},
            "src/components/ProductCard.tsx": {"src/lib/types.ts"},
            f"{app}/page.tsx": {f"{app}/_components/Hero.tsx"},
        },
        packages={
            "src/components/Navbar.tsx": {"next", "clsx"},
            "src/components/LoginForm.tsx": {"next", "@tanstack/react-query"},
        },
    )


# ---------------------------------------------------------------------------------------------------------
# Next.js, pages router


def build_nextjs_pages_app(root: Path) -> AppSpec:
    """Next.js pages router in `pages/` with jsconfig `baseUrl` imports and API routes."""
    write_files(
        root,
        {
            "package.json": package_json("shop-pages", {"next": "13.5.6", "react": "18.2.0", "swr": "2.2.0"}),
            "next.config.js": "module.exports = { reactStrictMode: true };\n",
            "jsconfig.json": '{ "compilerOptions": { "baseUrl": "." } }\n',
            "pages/_app.jsx": """
            import Layout from "components/Layout";
            import "styles/globals.css";

            export default function App({ Component, pageProps }) {
              return <Layout><Component {...pageProps} /></Layout>;
            }
        """,
            "pages/_document.jsx": """
            import { Html, Head, Main, NextScript } from "next/document";
            export default function Document() {
              return <Html><Head /><body><Main /><NextScript /></body></Html>;
            }
        """,
            "pages/_error.jsx": "export default function Error() { return <p>Error</p>; }\n",
            "pages/404.jsx": """
            import Link from "next/link";
            export default function NotFound() { return <Link href="/">Home</Link>; }
        """,
            "pages/index.jsx": """
            import Link from "next/link";
            export default function Home() {
              return <><Link href="/products">Shop</Link><Link href="/signup">Join</Link></>;
            }
        """,
            "pages/login.jsx": """
            import { useRouter } from "next/router";
            import { login } from "lib/auth";

            export default function Login() {
              const router = useRouter();
              const submit = async (form) => { await login(form); router.push("/dashboard"); };
              return <form onSubmit={submit} />;
            }
        """,
            "pages/signup.jsx": """
            import Router from "next/router";
            export default function SignUp() {
              return <button onClick={() => Router.push("/dashboard")}>Create account</button>;
            }
        """,
            "pages/dashboard/index.jsx": """
            import Link from "next/link";
            export default function Dashboard() { return <Link href="/settings/profile">Edit profile</Link>; }
        """,
            "pages/products/index.jsx": """
            import Link from "next/link";
            import useSWR from "swr";
            export default function Products() {
              const { data = [] } = useSWR("/api/products");
              return data.map((p) => <Link key={p.id} href={"/products/" + p.id}>{p.name}</Link>);
            }
        """,
            "pages/products/[id].jsx": """
            import { useRouter } from "next/router";
            export default function Product() {
              const router = useRouter();
              return <button onClick={() => router.push({ pathname: "/cart" })}>Add to cart</button>;
            }
            export async function getServerSideProps() { return { props: {} }; }
        """,
            "pages/cart.jsx": """
            import Link from "next/link";
            export default function Cart() { return <Link href="/checkout">Checkout</Link>; }
        """,
            "pages/checkout.jsx": """
            export default function Checkout() { return <form />; }
            export async function getServerSideProps({ req }) {
              if (!req.cookies.session) {
                return { redirect: { destination: "/login", permanent: false } };
              }
              return { props: {} };
            }
        """,
            "pages/settings/[[...section]].jsx": """
            export default function Settings() { return <h1>Settings</h1>; }
        """,
            "pages/products/product.test.jsx": "test('renders', () => {});\n",
            "pages/api/login.js": """
            export default function handler(req, res) { res.redirect(302, "/dashboard"); }
        """,
            "pages/api/products/[id].js": """
            export default function handler(req, res) { res.json({ id: req.query.id }); }
        """,
            "components/Layout.jsx": """
            import Link from "next/link";
            export default function Layout({ children }) {
              return <><header><Link href="/cart">Cart</Link></header>{children}</>;
            }
        """,
            "lib/auth.js": """
            const { post } = require("./http");
            export const login = (form) => post("/api/login", form);
        """,
            "lib/http.js": "exports.post = (url, body) => fetch(url, { method: 'POST', body });\n",
            "styles/globals.css": "body { font-family: sans-serif; }\n",
        },
    )
    layouts = ["pages/_document.jsx", "pages/_app.jsx"]
    return AppSpec(
        root=root,
        framework="nextjs",
        pages={
            "/": ["pages/index.jsx"],
            "/404": ["pages/404.jsx"],
            "/login": ["pages/login.jsx"],
            "/signup": ["pages/signup.jsx"],
            "/dashboard": ["pages/dashboard/index.jsx"],
            "/products": ["pages/products/index.jsx"],
            "/products/:id": ["pages/products/[id].jsx"],
            "/cart": ["pages/cart.jsx"],
            "/checkout": ["pages/checkout.jsx"],
            "/settings": ["pages/settings/[[...section]].jsx"],
            "/settings/*": ["pages/settings/[[...section]].jsx"],
        },
        api={"/api/login": ["pages/api/login.js"], "/api/products/:id": ["pages/api/products/[id].js"]},
        layouts={"/": layouts, "/products/:id": layouts},
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/signup", "/dashboard"),
            ("/dashboard", "/settings/*"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
            ("/404", "/"),
        },
        layout_edges={("/", "/cart"), ("/checkout", "/cart")},
        imports={
            "pages/_app.jsx": {"components/Layout.jsx", "styles/globals.css"},
            "pages/login.jsx": {"lib/auth.js"},
            "lib/auth.js": {"lib/http.js"},
        },
        packages={"pages/products/index.jsx": {"next", "swr"}},
    )


# ---------------------------------------------------------------------------------------------------------
# Remix v2 flat routes


def build_remix_app(root: Path) -> AppSpec:
    """Remix 2 (Vite) with v2 flat routes: pathless layouts, `_index`, escapes, folders, resource routes."""
    write_files(
        root,
        {
            "package.json": package_json(
                "shop-remix",
                {
                    "@remix-run/node": "^2.9.1",
                    "@remix-run/react": "^2.9.1",
                    "@remix-run/serve": "^2.9.1",
                    "react": "^18.2.0",
                    "react-dom": "^18.2.0",
                    "isbot": "^4.1.0",
                },
                devDependencies={"@remix-run/dev": "^2.9.1", "vite": "^5.1.0"},
            ),
            "vite.config.ts": """
            import { vitePlugin as remix } from "@remix-run/dev";
            import { defineConfig } from "vite";
            export default defineConfig({ plugins: [remix()] });
        """,
            "tsconfig.json": '{ "compilerOptions": { "baseUrl": ".", "paths": { "~/*": ["./app/*"] } } }\n',
            "app/root.tsx": """
            import { Links, Meta, Outlet, Scripts } from "@remix-run/react";
            import { Header } from "~/components/Header";
            import styles from "~/styles/app.css?url";

            export const links = () => [{ rel: "stylesheet", href: styles }];

            export default function App() {
              return (
                <html lang="en">
                  <head><Meta /><Links /></head>
                  <body><Header /><Outlet /><Scripts /></body>
                </html>
              );
            }
        """,
            "app/styles/app.css": "body { margin: 0 }\n",
            "app/components/Header.tsx": """
            import { Link, NavLink } from "@remix-run/react";
            export function Header() {
              return <header><Link to="/">Shop</Link><NavLink to="/cart">Cart</NavLink></header>;
            }
        """,
            "app/routes/_index.tsx": """
            import { Link } from "@remix-run/react";
            export default function Index() {
              return <><Link to="/products">Browse</Link><Link to="/signup">Join</Link></>;
            }
        """,
            "app/routes/_auth.tsx": """
            import { Outlet } from "@remix-run/react";
            export default function AuthLayout() { return <div className="auth"><Outlet /></div>; }
        """,
            "app/routes/_auth.login.tsx": """
            import { redirect, type ActionFunctionArgs } from "@remix-run/node";
            import { Form, Link } from "@remix-run/react";
            import { authenticate } from "~/models/session.server";

            export async function action({ request }: ActionFunctionArgs) {
              await authenticate(request);
              return redirect("/dashboard");
            }

            export default function Login() {
              return <Form method="post"><Link to="/signup">Sign up instead</Link></Form>;
            }
        """,
            "app/routes/_auth.signup.tsx": """
            import { redirect } from "@remix-run/node";
            import { Form } from "@remix-run/react";
            export async function action() { return redirect("/dashboard"); }
            export default function SignUp() { return <Form method="post" />; }
        """,
            "app/routes/dashboard.tsx": """
            import { Link } from "@remix-run/react";
            export default function Dashboard() { return <Link to="/settings">Settings</Link>; }
        """,
            "app/routes/products.tsx": """
            import { Outlet } from "@remix-run/react";
            export default function ProductsLayout() { return <section><Outlet /></section>; }
        """,
            "app/routes/products._index.tsx": """
            import { Link, useLoaderData } from "@remix-run/react";
            import { listProducts } from "~/models/product.server";
            export async function loader() { return listProducts(); }
            export default function Products() {
              const products = useLoaderData<typeof loader>();
              return products.map((p) => <Link key={p.id} to={`/products/${p.id}`}>{p.name}</Link>);
            }
        """,
            "app/routes/products.$id.tsx": """
            import { useNavigate } from "@remix-run/react";
            export default function Product() {
              const navigate = useNavigate();
              return <button onClick={() => navigate("/cart")}>Add to cart</button>;
            }
        """,
            "app/routes/products_.$id.reviews.tsx": """
            export default function Reviews() { return <p>Reviews</p>; }
        """,
            "app/routes/cart/route.tsx": """
            import { Link } from "@remix-run/react";
            import { CartLine } from "./CartLine";
            export default function Cart() { return <><CartLine /><Link to="/checkout">Checkout</Link></>; }
        """,
            "app/routes/cart/CartLine.tsx": "export function CartLine() { return <li />; }\n",
            "app/routes/checkout.tsx": """
            import { redirect } from "@remix-run/node";
            export async function loader() { return redirect("/login"); }
            export default function Checkout() { return <form />; }
        """,
            "app/routes/settings.($section).tsx": """
            export default function Settings() { return <h1>Settings</h1>; }
        """,
            "app/routes/api.products.ts": """
            import { json } from "@remix-run/node";
            import { listProducts } from "~/models/product.server";
            export async function loader() { return json(await listProducts()); }
        """,
            "app/routes/sitemap[.]xml.tsx": """
            export async function loader() { return new Response("<urlset />"); }
        """,
            "app/routes/files.$.tsx": "export default function Files() { return <p>file</p>; }\n",
            "app/models/product.server.ts": """
            export async function listProducts() { return [{ id: "1", name: "Tea" }]; }
        """,
            "app/models/session.server.ts": """
            export async function authenticate(request: Request) { return request.headers.get("cookie"); }
        """,
        },
    )
    r = "app/routes"
    return AppSpec(
        root=root,
        framework="remix",
        pages={
            "/": [f"{r}/_index.tsx"],
            "/login": [f"{r}/_auth.login.tsx"],
            "/signup": [f"{r}/_auth.signup.tsx"],
            "/dashboard": [f"{r}/dashboard.tsx"],
            "/products": [f"{r}/products._index.tsx"],
            "/products/:id": [f"{r}/products.$id.tsx"],
            "/products/:id/reviews": [f"{r}/products_.$id.reviews.tsx"],
            "/cart": [f"{r}/cart/route.tsx"],
            "/checkout": [f"{r}/checkout.tsx"],
            "/settings/:section?": [f"{r}/settings.($section).tsx"],
            "/files/*": [f"{r}/files.$.tsx"],
        },
        api={"/api/products": [f"{r}/api.products.ts"], "/sitemap.xml": [f"{r}/sitemap[.]xml.tsx"]},
        layouts={
            "/": ["app/root.tsx"],
            "/login": ["app/root.tsx", f"{r}/_auth.tsx"],
            "/products/:id": ["app/root.tsx", f"{r}/products.tsx"],
            "/products/:id/reviews": ["app/root.tsx"],
        },
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/login", "/signup"),
            ("/signup", "/dashboard"),
            ("/dashboard", "/settings/:section?"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
            ("/checkout", "/login"),
        },
        layout_edges={("/dashboard", "/cart"), ("/checkout", "/")},
        imports={
            "app/root.tsx": {"app/components/Header.tsx", "app/styles/app.css"},
            f"{r}/cart/route.tsx": {f"{r}/cart/CartLine.tsx"},
            f"{r}/_auth.login.tsx": {"app/models/session.server.ts"},
        },
        packages={f"{r}/_auth.login.tsx": {"@remix-run/node", "@remix-run/react"}},
    )


# ---------------------------------------------------------------------------------------------------------
# React Router in code


def react_vite_files(name: str) -> dict[str, str]:
    return {
        "package.json": package_json(
            name,
            {"react": "^18.3.1", "react-dom": "^18.3.1", "react-router-dom": "^6.23.0"},
            devDependencies={"vite": "^5.2.0", "@vitejs/plugin-react": "^4.2.1"},
        ),
        "index.html": '<!doctype html><html><body><div id="root"></div>'
        '<script type="module" src="/src/main.tsx"></script></body></html>\n',
        "vite.config.ts": """
            import { defineConfig } from "vite";
            import react from "@vitejs/plugin-react";
            export default defineConfig({ plugins: [react()] });
        """,
    }


def build_react_router_app(root: Path) -> AppSpec:
    """React Router 6 with a `<Routes>` JSX tree: nesting, index routes, `lazy()` pages, barrels, a guard
    wrapper, and descendant `<Routes>` under `settings/*`."""
    write_files(
        root,
        {
            **react_vite_files("shop-react"),
            "src/main.tsx": """
            import { createRoot } from "react-dom/client";
            import { BrowserRouter } from "react-router-dom";
            import App from "./App";
            import "./index.css";

            createRoot(document.getElementById("root")!).render(<BrowserRouter><App /></BrowserRouter>);
        """,
            "src/index.css": "body { margin: 0 }\n",
            "src/App.tsx": """
            import { lazy, Suspense } from "react";
            import { Routes, Route } from "react-router-dom";
            import Layout from "./components/Layout";
            import { RequireAuth } from "./components/RequireAuth";
            import Home from "./pages/Home";
            import Login from "./pages/Login";
            import SignUp from "./pages/SignUp";
            import { ProductList, ProductDetail } from "./pages/products";
            import Settings from "./pages/settings/Settings";

            const Cart = lazy(() => import("./pages/Cart"));
            const Checkout = lazy(() => import("./pages/Checkout"));
            const Dashboard = lazy(() => import("./pages/Dashboard"));

            function NotFound() {
              return <p>Nothing here</p>;
            }

            export default function App() {
              return (
                <Routes>
                  <Route path="/" element={<Layout />}>
                    <Route index element={<Home />} />
                    <Route path="products" element={<ProductList />} />
                    <Route path="products/:productId" element={<ProductDetail />} />
                    <Route path="cart" element={<Suspense fallback={<p>…</p>}><Cart /></Suspense>} />
                    <Route path="checkout" element={<RequireAuth><Checkout /></RequireAuth>} />
                    <Route path="dashboard" element={<Dashboard />} />
                    <Route path="settings/*" element={<Settings />} />
                  </Route>
                  <Route path="/login" element={<Login />} />
                  <Route path="/signup" element={<SignUp />} />
                  <Route path="*" element={<NotFound />} />
                </Routes>
              );
            }
        """,
            "src/components/Layout.tsx": """
            import { NavLink, Outlet } from "react-router-dom";
            export default function Layout() {
              return (
                <>
                  <nav><NavLink to="/products">Products</NavLink><NavLink to="/cart">Cart</NavLink></nav>
                  <Outlet />
                </>
              );
            }
        """,
            "src/components/RequireAuth.tsx": """
            import { Navigate } from "react-router-dom";
            import { useSession } from "../hooks/useSession";
            export function RequireAuth({ children }: { children: JSX.Element }) {
              const session = useSession();
              return session ? children : <Navigate to="/login" replace />;
            }
        """,
            "src/hooks/useSession.ts": "export function useSession() { return localStorage.getItem('session'); }\n",
            "src/pages/Home.tsx": """
            import { Link } from "react-router-dom";
            export default function Home() {
              return <><Link to="/products">Shop now</Link><Link to="/signup">Sign up</Link></>;
            }
        """,
            "src/pages/Login.tsx": """
            import { useNavigate } from "react-router-dom";
            export default function Login() {
              const navigate = useNavigate();
              return <form onSubmit={() => navigate("/dashboard")} />;
            }
        """,
            "src/pages/SignUp.tsx": """
            import { useNavigate } from "react-router-dom";
            export default function SignUp() {
              const navigate = useNavigate();
              return <button onClick={() => navigate("/dashboard", { replace: true })}>Create</button>;
            }
        """,
            "src/pages/products/index.ts": """
            export { ProductList } from "./ProductList";
            export { default as ProductDetail } from "./ProductDetail";
        """,
            "src/pages/products/ProductList.tsx": """
            import { Link } from "react-router-dom";
            import { ProductCard } from "../../components/ProductCard";
            export function ProductList() {
              const products = [{ id: "1", name: "Tea" }];
              return <ul>{products.map((p) => <ProductCard key={p.id} product={p} />)}</ul>;
            }
        """,
            "src/components/ProductCard.tsx": """
            import { Link } from "react-router-dom";
            export function ProductCard({ product }: { product: { id: string; name: string } }) {
              return <li><Link to={`/products/${product.id}`}>{product.name}</Link></li>;
            }
        """,
            "src/pages/products/ProductDetail.tsx": """
            import { useNavigate } from "react-router-dom";
            export default function ProductDetail() {
              const navigate = useNavigate();
              return <button onClick={() => navigate("/cart")}>Add to cart</button>;
            }
        """,
            "src/pages/Cart.tsx": """
            import { Link } from "react-router-dom";
            export default function Cart() { return <Link to="/checkout">Checkout</Link>; }
        """,
            "src/pages/Checkout.tsx": """
            export default function Checkout() { return <form>Pay</form>; }
        """,
            "src/pages/Dashboard.tsx": """
            import { Link } from "react-router-dom";
            export default function Dashboard() { return <Link to="/settings">Settings</Link>; }
        """,
            "src/pages/settings/Settings.tsx": """
            import { Routes, Route, Link } from "react-router-dom";
            import Profile from "./Profile";
            import Billing from "./Billing";
            export default function Settings() {
              return (
                <>
                  <Link to="billing">Billing</Link>
                  <Routes>
                    <Route index element={<Profile />} />
                    <Route path="billing" element={<Billing />} />
                  </Routes>
                </>
              );
            }
        """,
            "src/pages/settings/Profile.tsx": "export default function Profile() { return <h2>Profile</h2>; }\n",
            "src/pages/settings/Billing.tsx": "export default function Billing() { return <h2>Billing</h2>; }\n",
        },
    )
    config = ["src/components/Layout.tsx"]  # App.tsx declares the routes: a route table, not a layout
    return AppSpec(
        root=root,
        framework="react-router",
        pages={
            "/": ["src/pages/Home.tsx"],
            "/products": ["src/pages/products/ProductList.tsx"],
            "/products/:productId": ["src/pages/products/ProductDetail.tsx"],
            "/cart": ["src/pages/Cart.tsx"],
            "/checkout": ["src/components/RequireAuth.tsx", "src/pages/Checkout.tsx"],
            "/dashboard": ["src/pages/Dashboard.tsx"],
            "/settings": ["src/pages/settings/Profile.tsx"],
            "/settings/billing": ["src/pages/settings/Billing.tsx"],
            "/login": ["src/pages/Login.tsx"],
            "/signup": ["src/pages/SignUp.tsx"],
            "/*": ["src/App.tsx"],
        },
        layouts={
            "/": config,
            "/settings/billing": [*config, "src/pages/settings/Settings.tsx"],
            "/login": [],
        },
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/signup", "/dashboard"),
            ("/products", "/products/:productId"),
            ("/products/:productId", "/cart"),
            ("/cart", "/checkout"),
            ("/checkout", "/login"),
            ("/dashboard", "/settings"),
        },
        layout_edges={("/dashboard", "/cart"), ("/settings", "/settings/billing")},
        imports={
            "src/App.tsx": {"src/pages/Cart.tsx", "src/pages/products/index.ts", "src/components/Layout.tsx"},
            "src/pages/products/index.ts": {
                "src/pages/products/ProductList.tsx",
                "src/pages/products/ProductDetail.tsx",
            },
            "src/main.tsx": {"src/App.tsx", "src/index.css"},
        },
        packages={"src/main.tsx": {"react-dom", "react-router-dom"}, "src/App.tsx": {"react", "react-router-dom"}},
    )


def build_react_router_data_app(root: Path) -> AppSpec:
    """React Router 6.4 data router: `createBrowserRouter` objects, `lazy` route modules, spread arrays."""
    write_files(
        root,
        {
            **react_vite_files("shop-data-router"),
            "src/main.tsx": """
            import { createRoot } from "react-dom/client";
            import { createBrowserRouter, RouterProvider } from "react-router-dom";
            import Root from "./routes/root";
            import ErrorPage from "./error-page";
            import Home from "./routes/home";
            import Login from "./routes/login";
            import Products from "./routes/products";
            import Dashboard, { loader as dashboardLoader } from "./routes/dashboard";
            import { cartRoutes } from "./routes/cart.routes";

            const router = createBrowserRouter([
              {
                path: "/",
                element: <Root />,
                errorElement: <ErrorPage />,
                children: [
                  { index: true, element: <Home /> },
                  { path: "login", element: <Login /> },
                  { path: "signup", lazy: () => import("./routes/signup") },
                  {
                    path: "products",
                    children: [
                      { index: true, element: <Products /> },
                      { path: ":id", lazy: () => import("./routes/product") },
                    ],
                  },
                  ...cartRoutes,
                  { path: "dashboard", element: <Dashboard />, loader: dashboardLoader },
                  { path: "settings", Component: Settings },
                ],
              },
            ]);

            function Settings() {
              return <h1>Settings</h1>;
            }

            createRoot(document.getElementById("root")!).render(<RouterProvider router={router} />);
        """,
            "src/error-page.tsx": "export default function ErrorPage() { return <p>Oops</p>; }\n",
            "src/routes/root.tsx": """
            import { Link, Outlet } from "react-router-dom";
            export default function Root() { return <><Link to="/cart">Cart</Link><Outlet /></>; }
        """,
            "src/routes/home.tsx": """
            import { Link } from "react-router-dom";
            export default function Home() { return <Link to="products">Products</Link>; }
        """,
            "src/routes/login.tsx": """
            import { redirect, Form } from "react-router-dom";
            export async function action() { return redirect("/dashboard"); }
            export default function Login() { return <Form method="post" />; }
        """,
            "src/routes/signup.tsx": """
            import { redirect } from "react-router-dom";
            export async function action() { return redirect("/dashboard"); }
            export function Component() { return <form />; }
        """,
            "src/routes/products.tsx": """
            import { Link } from "react-router-dom";
            export default function Products() { return <Link to={"/products/" + 1}>Tea</Link>; }
        """,
            "src/routes/product.tsx": """
            import { useNavigate } from "react-router-dom";
            export function Component() {
              const navigate = useNavigate();
              return <button onClick={() => navigate("/cart")}>Add</button>;
            }
        """,
            "src/routes/cart.routes.tsx": """
            import Cart from "./cart";
            import Checkout from "./checkout";
            export const cartRoutes = [
              { path: "cart", Component: Cart },
              { path: "checkout", Component: Checkout },
            ];
        """,
            "src/routes/cart.tsx": """
            import { Link } from "react-router-dom";
            export default function Cart() { return <Link to="/checkout">Checkout</Link>; }
        """,
            "src/routes/checkout.tsx": "export default function Checkout() { return <form />; }\n",
            "src/routes/dashboard.tsx": """
            import { Link } from "react-router-dom";
            export async function loader() { return null; }
            export default function Dashboard() { return <Link to="/settings">Settings</Link>; }
        """,
        },
    )
    return AppSpec(
        root=root,
        framework="react-router",
        pages={
            "/": ["src/routes/home.tsx"],
            "/login": ["src/routes/login.tsx"],
            "/signup": ["src/routes/signup.tsx"],
            "/products": ["src/routes/products.tsx"],
            "/products/:id": ["src/routes/product.tsx"],
            "/cart": ["src/routes/cart.tsx"],
            "/checkout": ["src/routes/checkout.tsx"],
            "/dashboard": ["src/routes/dashboard.tsx"],
            "/settings": ["src/main.tsx"],
        },
        # src/main.tsx declares the routes (createBrowserRouter): a route table, not a layout
        layouts={"/": ["src/routes/root.tsx"], "/cart": ["src/routes/root.tsx"]},
        edges={
            ("/", "/products"),
            ("/login", "/dashboard"),
            ("/signup", "/dashboard"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
            ("/dashboard", "/settings"),
        },
        layout_edges={("/checkout", "/cart")},
        imports={"src/main.tsx": {"src/routes/signup.tsx", "src/routes/product.tsx", "src/routes/cart.routes.tsx"}},
    )


# ---------------------------------------------------------------------------------------------------------
# Vue Router


def build_vue_app(root: Path) -> AppSpec:
    """Vue 3 + Vue Router: route arrays with children, lazy `import()` views, an imported route array,
    `@/` alias from tsconfig, RouterLink in templates and `router.push` in scripts."""
    write_files(
        root,
        {
            "package.json": package_json(
                "shop-vue",
                {"vue": "^3.4.21", "vue-router": "^4.3.0", "pinia": "^2.1.7"},
                devDependencies={"vite": "^5.2.0", "@vitejs/plugin-vue": "^5.0.4"},
            ),
            "index.html": '<div id="app"></div><script type="module" src="/src/main.ts"></script>\n',
            "vite.config.ts": """
            import { fileURLToPath, URL } from "node:url";
            import { defineConfig } from "vite";
            import vue from "@vitejs/plugin-vue";
            export default defineConfig({
              plugins: [vue()],
              resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
            });
        """,
            "tsconfig.json": """
            { "files": [], "references": [{ "path": "./tsconfig.app.json" }] }
        """,
            "tsconfig.app.json": """
            {
              "compilerOptions": { "baseUrl": ".", "paths": { "@/*": ["./src/*"] } },
              "include": ["src/**/*.ts", "src/**/*.vue"]
            }
        """,
            "src/main.ts": """
            import { createApp } from "vue";
            import { createPinia } from "pinia";
            import App from "./App.vue";
            import router from "./router";
            import "./assets/main.css";

            createApp(App).use(createPinia()).use(router).mount("#app");
        """,
            "src/assets/main.css": "body { margin: 0 }\n",
            "src/styles/vars.scss": "$brand: #0a6;\n",
            "src/App.vue": """
            <script setup lang="ts">
            import { RouterLink, RouterView } from "vue-router";
            import NavBar from "@/components/NavBar.vue";
            </script>

            <template>
              <NavBar />
              <RouterLink to="/">Home</RouterLink>
              <RouterView />
            </template>
        """,
            "src/components/NavBar.vue": """
            <template>
              <nav>
                <router-link to="/products">Products</router-link>
                <router-link :to="{ path: '/cart' }">Cart</router-link>
              </nav>
            </template>

            <style scoped lang="scss">
            @import "@/styles/vars.scss";
            nav { color: $brand; }
            </style>
        """,
            "src/router/index.ts": """
            import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
            import HomeView from "@/views/HomeView.vue";
            import { accountRoutes } from "./account";

            const routes: RouteRecordRaw[] = [
              { path: "/", name: "home", component: HomeView },
              { path: "/login", name: "login", component: () => import("@/views/LoginView.vue") },
              { path: "/signup", component: () => import("../views/SignUpView.vue") },
              {
                path: "/products",
                component: () => import("@/views/products/ProductsLayout.vue"),
                children: [
                  { path: "", name: "products", component: () => import("@/views/products/ProductList.vue") },
                  {
                    path: ":id(\\\\d+)",
                    name: "product",
                    component: () => import("@/views/products/ProductDetail.vue"),
                  },
                ],
              },
              { path: "/cart", component: () => import("@/views/CartView.vue") },
              { path: "/checkout", component: () => import("@/views/CheckoutView.vue"), meta: { requiresAuth: true } },
              ...accountRoutes,
              { path: "/:pathMatch(.*)*", name: "not-found", component: () => import("@/views/NotFound.vue") },
            ];

            const router = createRouter({ history: createWebHistory(), routes });

            router.beforeEach((to) => {
              if (to.meta.requiresAuth && !localStorage.getItem("session")) {
                return { path: "/login" };
              }
            });

            export default router;
        """,
            "src/router/account.ts": """
            import DashboardView from "@/views/DashboardView.vue";
            import SettingsView from "@/views/settings/SettingsView.vue";

            export const accountRoutes = [
              { path: "/dashboard", component: DashboardView },
              {
                path: "/settings",
                component: SettingsView,
                children: [{ path: "profile", component: () => import("@/views/settings/ProfileView.vue") }],
              },
            ];
        """,
            "src/views/HomeView.vue": """
            <template>
              <main>
                <RouterLink to="/products">Shop</RouterLink>
                <RouterLink to="/signup">Join</RouterLink>
                <a href="https://vuejs.org">Vue</a>
              </main>
            </template>
        """,
            "src/views/LoginView.vue": """
            <script setup lang="ts">
            import { useRouter } from "vue-router";
            import { useSessionStore } from "@/stores/session";
            const router = useRouter();
            const session = useSessionStore();
            async function submit() {
              await session.login();
              router.push("/dashboard");
            }
            </script>

            <template>
              <form @submit.prevent="submit"><RouterLink to="/signup">Sign up</RouterLink></form>
            </template>
        """,
            "src/views/SignUpView.vue": """
            <script lang="ts">
            import { defineComponent } from "vue";
            export default defineComponent({
              methods: {
                done() { this.$router.replace({ path: "/dashboard" }); },
              },
            });
            </script>
            <template><button @click="done">Create account</button></template>
        """,
            "src/views/products/ProductsLayout.vue": "<template><section><RouterView /></section></template>\n",
            "src/views/products/ProductList.vue": """
            <script setup lang="ts">
            import ProductCard from "@/components/ProductCard.vue";
            const products = [{ id: 1, name: "Tea" }];
            </script>
            <template>
              <ProductCard v-for="p in products" :key="p.id" :product="p" />
            </template>
        """,
            "src/components/ProductCard.vue": """
            <script setup lang="ts">
            defineProps<{ product: { id: number; name: string } }>();
            </script>
            <template>
              <RouterLink :to="`/products/${product.id}`">{{ product.name }}</RouterLink>
            </template>
        """,
            "src/views/products/ProductDetail.vue": """
            <script setup lang="ts">
            import { useRouter } from "vue-router";
            const router = useRouter();
            </script>
            <template>
              <button @click="router.push('/cart')">Add to cart</button>
              <a href="#specs">Specs</a>
            </template>
        """,
            "src/views/CartView.vue": """
            <template><router-link to="/checkout?from=cart">Checkout</router-link></template>
        """,
            "src/views/CheckoutView.vue": "<template><form>Pay</form></template>\n",
            "src/views/DashboardView.vue": """
            <template><RouterLink to="/settings/profile">Profile</RouterLink></template>
        """,
            "src/views/settings/SettingsView.vue": "<template><RouterView /></template>\n",
            "src/views/settings/ProfileView.vue": "<template><h2>Profile</h2></template>\n",
            "src/views/NotFound.vue": "<template><p>Not found</p></template>\n",
            "src/stores/session.ts": """
            import { defineStore } from "pinia";
            export const useSessionStore = defineStore("session", { actions: { async login() {} } });
        """,
        },
    )
    config = ["src/App.vue"]  # src/router/index.ts is the route table, not a layout
    return AppSpec(
        root=root,
        framework="vue",
        pages={
            "/": ["src/views/HomeView.vue"],
            "/login": ["src/views/LoginView.vue"],
            "/signup": ["src/views/SignUpView.vue"],
            "/products": ["src/views/products/ProductList.vue"],
            "/products/:id": ["src/views/products/ProductDetail.vue"],
            "/cart": ["src/views/CartView.vue"],
            "/checkout": ["src/views/CheckoutView.vue"],
            "/dashboard": ["src/views/DashboardView.vue"],
            "/settings": ["src/views/settings/SettingsView.vue"],
            "/settings/profile": ["src/views/settings/ProfileView.vue"],
            "/*": ["src/views/NotFound.vue"],
        },
        layouts={
            "/": config,
            "/products/:id": [*config, "src/views/products/ProductsLayout.vue"],
            "/settings/profile": [*config, "src/views/settings/SettingsView.vue"],
        },
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/login", "/signup"),
            ("/signup", "/dashboard"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
            ("/dashboard", "/settings/profile"),
        },
        layout_edges={("/checkout", "/products"), ("/checkout", "/cart")},
        imports={
            "src/App.vue": {"src/components/NavBar.vue"},
            "src/components/NavBar.vue": {"src/styles/vars.scss"},
            "src/router/index.ts": {
                "src/views/HomeView.vue",
                "src/views/LoginView.vue",
                "src/views/SignUpView.vue",
                "src/router/account.ts",
            },
            "src/views/LoginView.vue": {"src/stores/session.ts"},
            "src/main.ts": {"src/App.vue", "src/router/index.ts", "src/assets/main.css"},
        },
        packages={"src/main.ts": {"vue", "pinia"}, "src/views/LoginView.vue": {"vue-router"}},
    )


# ---------------------------------------------------------------------------------------------------------
# Nuxt


def build_nuxt_app(root: Path) -> AppSpec:
    """Nuxt 3 with file routes in `pages/`, a parent page wrapping a folder, groups, catch-alls, server API."""
    write_files(
        root,
        {
            "package.json": package_json("shop-nuxt", {"nuxt": "^3.11.2", "vue": "^3.4.21"}),
            "nuxt.config.ts": "export default defineNuxtConfig({ devtools: { enabled: true } });\n",
            "app.vue": "<template><NuxtLayout><NuxtPage /></NuxtLayout></template>\n",
            "layouts/default.vue": """
            <template>
              <div><NuxtLink to="/cart">Cart</NuxtLink><slot /></div>
            </template>
        """,
            "pages/index.vue": """
            <template>
              <NuxtLink to="/products">Shop</NuxtLink>
              <NuxtLink to="/signup">Join</NuxtLink>
            </template>
        """,
            "pages/login.vue": """
            <script setup lang="ts">
            import { useCart } from "~/composables/useCart";
            const cart = useCart();
            async function submit() {
              await $fetch("/api/login", { method: "POST" });
              await navigateTo("/dashboard");
            }
            </script>
            <template><form @submit.prevent="submit" /></template>
        """,
            "pages/signup.vue": """
            <script setup>
            const router = useRouter();
            const done = () => router.push("/dashboard");
            </script>
            <template><button @click="done">Create account</button></template>
        """,
            "pages/dashboard.vue": '<template><NuxtLink to="/settings">Settings</NuxtLink></template>\n',
            "pages/products/index.vue": """
            <script setup lang="ts">
            const { data: products } = await useFetch("/api/products");
            </script>
            <template>
              <base-badge>New</base-badge>
              <LazyProductCard v-for="p in products" :key="p.id" :product="p" />
            </template>
        """,
            "components/ProductCard.vue": """
            <script setup lang="ts">
            defineProps<{ product: { id: string; name: string } }>();
            </script>
            <template>
              <NuxtLink :to="`/products/${product.id}`">{{ product.name }}</NuxtLink>
            </template>
        """,
            "components/base/Badge.vue": "<template><span class='badge'><slot /></span></template>\n",
            "pages/products/[id].vue": """
            <script setup lang="ts">
            const route = useRoute();
            </script>
            <template><button @click="navigateTo('/cart')">Add {{ route.params.id }}</button></template>
        """,
            "pages/cart.vue": '<template><NuxtLink to="/checkout">Checkout</NuxtLink></template>\n',
            "pages/checkout.vue": "<template><form /></template>\n",
            "pages/settings.vue": "<template><div><NuxtPage /></div></template>\n",
            "pages/settings/index.vue": "<template><h1>Settings</h1></template>\n",
            "pages/settings/notifications.vue": "<template><h2>Notifications</h2></template>\n",
            "pages/blog/[...slug].vue": "<template><article /></template>\n",
            "pages/(marketing)/about.vue": "<template><p>About us</p></template>\n",
            "pages/docs/[[version]]/index.vue": "<template><p>Docs</p></template>\n",
            "composables/useCart.ts": "export function useCart() { return useState('cart', () => []); }\n",
            "server/api/products/index.get.ts": "export default defineEventHandler(() => []);\n",
            "server/api/products/[id].get.ts": "export default defineEventHandler(() => ({}));\n",
            "server/api/login.post.ts": "export default defineEventHandler(() => ({ ok: true }));\n",
        },
    )
    top = ["app.vue", "layouts/default.vue"]
    return AppSpec(
        root=root,
        framework="nuxt",
        pages={
            "/": ["pages/index.vue"],
            "/login": ["pages/login.vue"],
            "/signup": ["pages/signup.vue"],
            "/dashboard": ["pages/dashboard.vue"],
            "/products": ["pages/products/index.vue"],
            "/products/:id": ["pages/products/[id].vue"],
            "/cart": ["pages/cart.vue"],
            "/checkout": ["pages/checkout.vue"],
            "/settings": ["pages/settings/index.vue"],
            "/settings/notifications": ["pages/settings/notifications.vue"],
            "/blog/*": ["pages/blog/[...slug].vue"],
            "/about": ["pages/(marketing)/about.vue"],
            "/docs/:version?": ["pages/docs/[[version]]/index.vue"],
        },
        api={
            "/api/products": ["server/api/products/index.get.ts"],
            "/api/products/:id": ["server/api/products/[id].get.ts"],
            "/api/login": ["server/api/login.post.ts"],
        },
        layouts={"/": top, "/settings/notifications": [*top, "pages/settings.vue"]},
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/signup", "/dashboard"),
            ("/dashboard", "/settings"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
        },
        layout_edges={("/checkout", "/cart")},
        imports={
            "pages/login.vue": {"composables/useCart.ts"},
            # auto-imported components: no import statement, only the tag in the template
            "pages/products/index.vue": {"components/ProductCard.vue", "components/base/Badge.vue"},
        },
    )


# ---------------------------------------------------------------------------------------------------------
# SvelteKit


def build_sveltekit_app(root: Path) -> AppSpec:
    """SvelteKit with groups, `[param]`, `[[optional]]`, `[...rest]`, load files, `+server` endpoints, `$lib`."""
    write_files(
        root,
        {
            "package.json": package_json(
                "shop-svelte", {}, devDependencies={"@sveltejs/kit": "^2.5.0", "svelte": "^4.2.12", "vite": "^5.2.0"}
            ),
            "svelte.config.js": """
            import adapter from "@sveltejs/adapter-auto";
            export default { kit: { adapter: adapter() } };
        """,
            "src/app.html": "<html><body>%sveltekit.body%</body></html>\n",
            "src/routes/+layout.svelte": """
            <script>
              import Nav from "$lib/components/Nav.svelte";
              import "../app.css";
            </script>
            <Nav />
            <slot />
        """,
            "src/app.css": "body { margin: 0 }\n",
            "src/lib/components/Nav.svelte": """
            <nav><a href="/">Home</a> <a href="/cart">Cart</a></nav>
        """,
            "src/routes/+page.svelte": """
            <a href="/products">Shop</a>
            <a href="/signup">Join</a>
            <a href="https://kit.svelte.dev">Kit</a>
        """,
            "src/routes/(auth)/+layout.svelte": '<div class="auth"><slot /></div>\n',
            "src/routes/(auth)/login/+page.svelte": """
            <script lang="ts">
              import { goto } from "$app/navigation";
              import { login } from "$lib/api";
              async function submit() {
                await login();
                await goto("/dashboard");
              }
            </script>
            <form on:submit|preventDefault={submit}><a href="/signup">Sign up</a></form>
        """,
            "src/routes/(auth)/login/+page.server.ts": """
            import { redirect } from "@sveltejs/kit";
            export const actions = { default: async () => { redirect(303, "/dashboard"); } };
        """,
            "src/routes/(auth)/signup/+page.svelte": """
            <script>
              import { goto } from "$app/navigation";
            </script>
            <button on:click={() => goto("/dashboard")}>Create account</button>
        """,
            "src/routes/dashboard/+page.svelte": '<a href="/settings">Settings</a>\n',
            "src/routes/dashboard/+page.ts": """
            import { fetchOrders } from "$lib/api";
            export const load = async () => ({ orders: await fetchOrders() });
        """,
            "src/routes/products/+page.svelte": """
            <script lang="ts">
              import ProductCard from "$lib/components/ProductCard.svelte";
              export let data;
            </script>
            {#each data.products as product}
              <ProductCard {product} />
            {/each}
        """,
            "src/lib/components/ProductCard.svelte": """
            <script lang="ts">
              export let product: { id: string; name: string };
            </script>
            <a href="/products/{product.id}">{product.name}</a>
        """,
            "src/routes/products/[id]/+page.svelte": """
            <script>
              import { goto } from "$app/navigation";
              import { cart } from "$lib/stores/cart";
            </script>
            <button on:click={() => { cart.add(); goto("/cart"); }}>Add</button>
            <a href="#details">Details</a>
        """,
            "src/routes/products/[id]/+page.ts": "export const load = ({ params }) => ({ id: params.id });\n",
            "src/routes/cart/+page.svelte": '<a href="/checkout?from=cart">Checkout</a>\n',
            "src/routes/checkout/+page.svelte": "<form>Pay</form>\n",
            "src/routes/checkout/+error.svelte": "<p>Checkout failed</p>\n",
            "src/routes/settings/[[section]]/+page.svelte": "<h1>Settings</h1>\n",
            "src/routes/docs/[...path]/+page.svelte": "<article />\n",
            "src/routes/orders/[id=integer]/+page.svelte": "<p>Order</p>\n",
            "src/routes/api/products/+server.ts": """
            import { json } from "@sveltejs/kit";
            export function GET() { return json([]); }
        """,
            "src/lib/api.ts": """
            export async function login() { return fetch("/api/login"); }
            export async function fetchOrders() { return []; }
        """,
            "src/lib/stores/cart.ts": """
            import { writable } from "svelte/store";
            const items = writable<string[]>([]);
            export const cart = { subscribe: items.subscribe, add: () => items.update((i) => [...i, "x"]) };
        """,
        },
    )
    r = "src/routes"
    return AppSpec(
        root=root,
        framework="sveltekit",
        pages={
            "/": [f"{r}/+page.svelte"],
            "/login": [f"{r}/(auth)/login/+page.svelte", f"{r}/(auth)/login/+page.server.ts"],
            "/signup": [f"{r}/(auth)/signup/+page.svelte"],
            "/dashboard": [f"{r}/dashboard/+page.svelte", f"{r}/dashboard/+page.ts"],
            "/products": [f"{r}/products/+page.svelte"],
            "/products/:id": [f"{r}/products/[id]/+page.svelte", f"{r}/products/[id]/+page.ts"],
            "/cart": [f"{r}/cart/+page.svelte"],
            "/checkout": [f"{r}/checkout/+page.svelte"],
            "/settings/:section?": [f"{r}/settings/[[section]]/+page.svelte"],
            "/docs/*": [f"{r}/docs/[...path]/+page.svelte"],
            "/orders/:id": [f"{r}/orders/[id=integer]/+page.svelte"],
        },
        api={"/api/products": [f"{r}/api/products/+server.ts"]},
        layouts={
            "/": [f"{r}/+layout.svelte"],
            "/login": [f"{r}/+layout.svelte", f"{r}/(auth)/+layout.svelte"],
            "/checkout": [f"{r}/+layout.svelte", f"{r}/checkout/+error.svelte"],
        },
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/login", "/signup"),
            ("/signup", "/dashboard"),
            ("/dashboard", "/settings/:section?"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
        },
        layout_edges={("/checkout", "/cart"), ("/dashboard", "/")},
        imports={
            f"{r}/+layout.svelte": {"src/lib/components/Nav.svelte", "src/app.css"},
            f"{r}/products/+page.svelte": {"src/lib/components/ProductCard.svelte"},
            f"{r}/products/[id]/+page.svelte": {"src/lib/stores/cart.ts"},
            f"{r}/dashboard/+page.ts": {"src/lib/api.ts"},
        },
        packages={"src/lib/stores/cart.ts": {"svelte"}, f"{r}/api/products/+server.ts": {"@sveltejs/kit"}},
    )


# ---------------------------------------------------------------------------------------------------------
# Angular


def build_angular_app(root: Path) -> AppSpec:
    """Angular 17 standalone app: `Routes` with `component`, `loadComponent`, `loadChildren` (a routes file
    and an NgModule with `forChild`), templates with `routerLink`, `Router.navigate`."""
    write_files(
        root,
        {
            "package.json": package_json(
                "shop-angular",
                {
                    "@angular/core": "^17.3.0",
                    "@angular/common": "^17.3.0",
                    "@angular/router": "^17.3.0",
                    "rxjs": "~7.8.0",
                },
            ),
            "angular.json": '{ "version": 1, "projects": { "shop": { "root": "" } } }\n',
            "tsconfig.json": """
            { "compilerOptions": { "baseUrl": "./", "paths": { "@app/*": ["src/app/*"] } } }
        """,
            "src/main.ts": """
            import { bootstrapApplication } from "@angular/platform-browser";
            import { AppComponent } from "./app/app.component";
            import { appConfig } from "./app/app.config";
            bootstrapApplication(AppComponent, appConfig);
        """,
            "src/app/app.config.ts": """
            import { ApplicationConfig } from "@angular/core";
            import { provideRouter } from "@angular/router";
            import { routes } from "./app.routes";
            export const appConfig: ApplicationConfig = { providers: [provideRouter(routes)] };
        """,
            "src/app/app.component.ts": """
            import { Component } from "@angular/core";
            import { RouterLink, RouterOutlet } from "@angular/router";
            @Component({
              selector: "app-root",
              standalone: true,
              imports: [RouterOutlet, RouterLink],
              templateUrl: "./app.component.html",
              styleUrl: "./app.component.css",
            })
            export class AppComponent {}
        """,
            "src/app/app.component.html": """
            <nav>
              <a routerLink="/products">Products</a>
              <a routerLink="/cart">Cart</a>
            </nav>
            <router-outlet />
        """,
            "src/app/app.component.css": "nav { display: flex; }\n",
            "src/app/app.routes.ts": """
            import { Routes } from "@angular/router";
            import { HomeComponent } from "./home/home.component";
            import { CartComponent } from "@app/cart/cart.component";
            import { CheckoutComponent } from "./checkout/checkout.component";
            import { DashboardComponent } from "./dashboard/dashboard.component";
            import { authGuard } from "./auth/auth.guard";

            export const routes: Routes = [
              { path: "", component: HomeComponent, pathMatch: "full" },
              { path: "login", loadComponent: () => import("./auth/login.component").then((m) => m.LoginComponent) },
              { path: "signup", loadComponent: () => import("./auth/signup.component").then((m) => m.SignupComponent) },
              {
                path: "products",
                loadChildren: () => import("./products/products.routes").then((m) => m.PRODUCT_ROUTES),
              },
              { path: "cart", component: CartComponent },
              { path: "checkout", component: CheckoutComponent, canActivate: [authGuard] },
              { path: "dashboard", component: DashboardComponent },
              {
                path: "settings",
                loadChildren: () => import("./settings/settings.module").then((m) => m.SettingsModule),
              },
              { path: "**", redirectTo: "" },
            ];
        """,
            "src/app/home/home.component.ts": """
            import { Component } from "@angular/core";
            import { RouterLink } from "@angular/router";
            @Component({
              selector: "app-home",
              standalone: true,
              imports: [RouterLink],
              template: `<a routerLink="/products">Shop</a> <a [routerLink]="['/signup']">Join</a>`,
            })
            export class HomeComponent {}
        """,
            "src/app/auth/auth.guard.ts": """
            import { inject } from "@angular/core";
            import { Router } from "@angular/router";
            export const authGuard = () => inject(Router).createUrlTree(["/login"]);
        """,
            "src/app/auth/login.component.ts": """
            import { Component, inject } from "@angular/core";
            import { Router } from "@angular/router";
            import { AuthService } from "../core/auth.service";
            @Component({ selector: "app-login", standalone: true, templateUrl: "./login.component.html" })
            export class LoginComponent {
              private router = inject(Router);
              private auth = inject(AuthService);
              async submit() {
                await this.auth.login();
                this.router.navigate(["/dashboard"]);
              }
            }
        """,
            "src/app/auth/login.component.html": (
                '<form (ngSubmit)="submit()"><a routerLink="/signup">Sign up</a></form>\n'
            ),
            "src/app/auth/signup.component.ts": """
            import { Component } from "@angular/core";
            import { Router } from "@angular/router";
            @Component({ selector: "app-signup", standalone: true, template: "<button (click)='done()'>Go</button>" })
            export class SignupComponent {
              constructor(private router: Router) {}
              done() { this.router.navigateByUrl("/dashboard"); }
            }
        """,
            "src/app/core/auth.service.ts": """
            import { Injectable } from "@angular/core";
            @Injectable({ providedIn: "root" })
            export class AuthService { async login() {} }
        """,
            "src/app/products/products.routes.ts": """
            import { Routes } from "@angular/router";
            import { ProductListComponent } from "./product-list.component";
            import { ProductDetailComponent } from "./product-detail.component";
            export const PRODUCT_ROUTES: Routes = [
              { path: "", component: ProductListComponent },
              { path: ":id", component: ProductDetailComponent },
            ];
        """,
            "src/app/products/product-list.component.ts": """
            import { Component } from "@angular/core";
            @Component({ selector: "app-product-list", standalone: true, templateUrl: "./product-list.component.html" })
            export class ProductListComponent { products = [{ id: 1, name: "Tea" }]; }
        """,
            "src/app/products/product-list.component.html": """
            @for (p of products; track p.id) {
              <a [routerLink]="['/products', p.id]">{{ p.name }}</a>
            }
        """,
            "src/app/products/product-detail.component.ts": """
            import { Component } from "@angular/core";
            import { Router } from "@angular/router";
            @Component({
              selector: "app-product-detail",
              standalone: true,
              templateUrl: "./product-detail.component.html",
            })
            export class ProductDetailComponent {
              constructor(private router: Router) {}
              add() { this.router.navigateByUrl("/cart"); }
            }
        """,
            "src/app/products/product-detail.component.html": '<button (click)="add()">Add</button>\n',
            "src/app/cart/cart.component.ts": """
            import { Component } from "@angular/core";
            @Component({ selector: "app-cart", standalone: true, templateUrl: "./cart.component.html" })
            export class CartComponent {}
        """,
            "src/app/cart/cart.component.html": """
            <a routerLink="/checkout" [queryParams]="{ from: 'cart' }">Checkout</a>
        """,
            "src/app/checkout/checkout.component.ts": """
            import { Component } from "@angular/core";
            @Component({ selector: "app-checkout", standalone: true, template: "<form></form>" })
            export class CheckoutComponent {}
        """,
            "src/app/dashboard/dashboard.component.ts": """
            import { Component } from "@angular/core";
            @Component({
              selector: "app-dashboard",
              standalone: true,
              template: `<a routerLink="/settings">Settings</a>`,
            })
            export class DashboardComponent {}
        """,
            "src/app/settings/settings.module.ts": """
            import { NgModule } from "@angular/core";
            import { RouterModule, Routes } from "@angular/router";
            import { SettingsComponent } from "./settings.component";
            const routes: Routes = [{ path: "", component: SettingsComponent }];
            @NgModule({ imports: [RouterModule.forChild(routes)], declarations: [SettingsComponent] })
            export class SettingsModule {}
        """,
            "src/app/settings/settings.component.ts": """
            import { Component } from "@angular/core";
            @Component({ selector: "app-settings", template: "<h1>Settings</h1>" })
            export class SettingsComponent {}
        """,
        },
    )
    top = ["src/app/app.component.ts"]  # app.routes.ts is the route table, not a layout
    return AppSpec(
        root=root,
        framework="angular",
        pages={
            "/": ["src/app/home/home.component.ts"],
            "/login": ["src/app/auth/login.component.ts"],
            "/signup": ["src/app/auth/signup.component.ts"],
            "/products": ["src/app/products/product-list.component.ts"],
            "/products/:id": ["src/app/products/product-detail.component.ts"],
            "/cart": ["src/app/cart/cart.component.ts"],
            "/checkout": ["src/app/checkout/checkout.component.ts"],
            "/dashboard": ["src/app/dashboard/dashboard.component.ts"],
            "/settings": ["src/app/settings/settings.component.ts"],
        },
        layouts={"/": top},
        edges={
            ("/", "/products"),
            ("/", "/signup"),
            ("/login", "/dashboard"),
            ("/login", "/signup"),
            ("/signup", "/dashboard"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/cart", "/checkout"),
            ("/dashboard", "/settings"),
        },
        layout_edges={("/checkout", "/cart"), ("/settings", "/products")},
        imports={
            "src/app/app.component.ts": {"src/app/app.component.html", "src/app/app.component.css"},
            "src/app/app.routes.ts": {
                "src/app/cart/cart.component.ts",
                "src/app/auth/login.component.ts",
                "src/app/products/products.routes.ts",
            },
            "src/app/auth/login.component.ts": {"src/app/auth/login.component.html", "src/app/core/auth.service.ts"},
        },
        packages={"src/app/app.routes.ts": {"@angular/router"}, "src/main.ts": {"@angular/platform-browser"}},
    )


# ---------------------------------------------------------------------------------------------------------
# Monorepo


def build_monorepo(root: Path, manager: str = "pnpm") -> AppSpec:
    """Two apps (Next.js storefront, React Router admin) and shared packages in a pnpm or npm workspace.

    `@acme/ui` points `main`/`exports` at `dist/` (not committed) and is resolved to its `src/`; `@acme/utils`
    uses `exports` subpaths and package.json `imports` (`#internal/*`); the web app's tsconfig extends a
    config from the `@acme/tsconfig` workspace package.
    """
    workspaces = ["apps/*", "packages/*"]
    files: dict[str, str] = {
        "package.json": json.dumps(
            {
                "name": "acme",
                "private": True,
                "devDependencies": {"turbo": "^2.0.0", "react": "^18.3.1"},
                **({"workspaces": workspaces} if manager == "npm" else {}),
            },
            indent=2,
        )
        + "\n",
        "packages/tsconfig/package.json": package_json("@acme/tsconfig", {}),
        "packages/tsconfig/nextjs.json": """
            { "compilerOptions": { "jsx": "preserve", "baseUrl": "../../apps/web", "paths": { "@/*": ["src/*"] } } }
        """,
        "packages/ui/package.json": json.dumps(
            {
                "name": "@acme/ui",
                "version": "0.0.0",
                "main": "./dist/index.js",
                "types": "./dist/index.d.ts",
                "exports": {".": {"types": "./dist/index.d.ts", "import": "./dist/index.mjs"}},
                "peerDependencies": {"react": "^18"},
            },
            indent=2,
        )
        + "\n",
        "packages/ui/src/index.ts": 'export * from "./Button";\nexport * from "./Card";\n',
        "packages/ui/src/Button.tsx": """
            import type { ReactNode } from "react";
            export function Button({ children }: { children: ReactNode }) { return <button>{children}</button>; }
        """,
        "packages/ui/src/Card.tsx": "export function Card() { return <div className='card' />; }\n",
        "packages/utils/package.json": json.dumps(
            {
                "name": "@acme/utils",
                "version": "0.0.0",
                "exports": {"./format": "./src/format.ts", "./money": {"import": "./src/money.ts"}},
                "imports": {"#internal/*": "./src/internal/*.ts"},
                "dependencies": {"date-fns": "^3.6.0"},
            },
            indent=2,
        )
        + "\n",
        "packages/utils/src/format.ts": """
            import { format } from "date-fns";
            import { round } from "#internal/round";
            export const formatDate = (d: Date) => format(d, "yyyy-MM-dd");
            export const formatPrice = (n: number) => round(n).toFixed(2);
        """,
        "packages/utils/src/money.ts": "export const cents = (n: number) => Math.round(n * 100);\n",
        "packages/utils/src/internal/round.ts": "export const round = (n: number) => Math.round(n * 100) / 100;\n",
        "apps/web/package.json": package_json(
            "@acme/web", {"next": "14.2.3", "react": "18.3.1", "@acme/ui": "workspace:*", "@acme/utils": "workspace:*"}
        ),
        "apps/web/next.config.mjs": "export default { transpilePackages: ['@acme/ui'] };\n",
        "apps/web/tsconfig.json": '{ "extends": "@acme/tsconfig/nextjs.json", "include": ["src"] }\n',
        "apps/web/src/app/layout.tsx": """
            export default function RootLayout({ children }: { children: React.ReactNode }) {
              return <html><body>{children}</body></html>;
            }
        """,
        "apps/web/src/app/page.tsx": """
            import Link from "next/link";
            import { Button } from "@acme/ui";
            import { formatDate } from "@acme/utils/format";
            import { Banner } from "@/components/Banner";
            export default function Home() {
              return <><Banner /><Button>{formatDate(new Date())}</Button><Link href="/products">Shop</Link></>;
            }
        """,
        "apps/web/src/components/Banner.tsx": "export function Banner() { return <p>Sale</p>; }\n",
        "apps/web/src/app/products/page.tsx": """
            import Link from "next/link";
            import { Card } from "@acme/ui";
            import { cents } from "@acme/utils/money";
            export default function Products() { return <Link href="/products/1"><Card />{cents(1)}</Link>; }
        """,
        "apps/web/src/app/products/[id]/page.tsx": """
            import Link from "next/link";
            export default function Product() { return <Link href="/cart">Add to cart</Link>; }
        """,
        "apps/web/src/app/cart/page.tsx": "export default function Cart() { return <form />; }\n",
        "apps/admin/package.json": package_json(
            "@acme/admin",
            {"react": "^18.3.1", "react-dom": "^18.3.1", "react-router-dom": "^6.23.0", "@acme/ui": "workspace:*"},
            devDependencies={"vite": "^5.2.0"},
        ),
        "apps/admin/index.html": '<div id="root"></div><script type="module" src="/src/main.tsx"></script>\n',
        "apps/admin/vite.config.ts": 'import { defineConfig } from "vite";\nexport default defineConfig({});\n',
        "apps/admin/src/main.tsx": """
            import { createRoot } from "react-dom/client";
            import { BrowserRouter, Routes, Route } from "react-router-dom";
            import Users from "./pages/Users";
            import UserDetail from "./pages/UserDetail";
            import Home from "./pages/Home";
            createRoot(document.getElementById("root")!).render(
              <BrowserRouter>
                <Routes>
                  <Route path="/" element={<Home />} />
                  <Route path="/users" element={<Users />} />
                  <Route path="/users/:userId" element={<UserDetail />} />
                </Routes>
              </BrowserRouter>,
            );
        """,
        "apps/admin/src/pages/Home.tsx": """
            import { Link } from "react-router-dom";
            export default function Home() { return <Link to="/users">Users</Link>; }
        """,
        "apps/admin/src/pages/Users.tsx": """
            import { Link } from "react-router-dom";
            import { Button } from "@acme/ui";
            export default function Users() { return <Link to={`/users/${42}`}><Button>Open</Button></Link>; }
        """,
        "apps/admin/src/pages/UserDetail.tsx": "export default function UserDetail() { return <p>User</p>; }\n",
    }
    if manager == "pnpm":
        files["pnpm-workspace.yaml"] = "packages:\n  - 'apps/*'\n  - 'packages/*'\n  - '!**/test/**'\n"
    write_files(root, files)
    web = "apps/web/src/app"
    return AppSpec(
        root=root,
        framework="mixed",
        apps={"apps/web": "nextjs", "apps/admin": "react-router"},
        pages_by_app={
            "apps/web": {
                "/": [f"{web}/page.tsx"],
                "/products": [f"{web}/products/page.tsx"],
                "/products/:id": [f"{web}/products/[id]/page.tsx"],
                "/cart": [f"{web}/cart/page.tsx"],
            },
            "apps/admin": {
                "/": ["apps/admin/src/pages/Home.tsx"],
                "/users": ["apps/admin/src/pages/Users.tsx"],
                "/users/:userId": ["apps/admin/src/pages/UserDetail.tsx"],
            },
        },
        pages={},
        layouts={"/users": []},  # apps/admin/src/main.tsx is the route table, not a layout
        edges={
            ("/", "/products"),
            ("/products", "/products/:id"),
            ("/products/:id", "/cart"),
            ("/", "/users"),
            ("/users", "/users/:userId"),
        },
        imports={
            f"{web}/page.tsx": {
                "packages/ui/src/index.ts",
                "packages/utils/src/format.ts",
                "apps/web/src/components/Banner.tsx",
            },
            f"{web}/products/page.tsx": {"packages/ui/src/index.ts", "packages/utils/src/money.ts"},
            "packages/ui/src/index.ts": {"packages/ui/src/Button.tsx", "packages/ui/src/Card.tsx"},
            "packages/utils/src/format.ts": {"packages/utils/src/internal/round.ts"},
            "apps/admin/src/pages/Users.tsx": {"packages/ui/src/index.ts"},
        },
        packages={"packages/utils/src/format.ts": {"date-fns"}, f"{web}/page.tsx": {"next"}},
    )


ALL_SINGLE_APP_BUILDERS = {
    "nextjs-app": build_nextjs_app,
    "nextjs-pages": build_nextjs_pages_app,
    "remix": build_remix_app,
    "react-router": build_react_router_app,
    "react-router-data": build_react_router_data_app,
    "vue": build_vue_app,
    "nuxt": build_nuxt_app,
    "sveltekit": build_sveltekit_app,
    "angular": build_angular_app,
}
