"""A small Next.js-style shop with sign-in, a dashboard and projects, in a fresh git repository.

`perceo demo` builds it so a newcomer can run the real job (`init`, then `ci analyze` on the last commit)
without a web app of their own. Three commits: the storefront, the signed-in app, then a change to a
shared price component that the checkout pages import.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from perceo.errors import PerceoError

_GIT_IDENTITY = ["-c", "user.name=Perceo Demo", "-c", "user.email=demo@perceo.invalid", "-c", "commit.gpgsign=false"]

STOREFRONT: dict[str, str] = {
    "package.json": """{
  "name": "perceo-demo-shop",
  "private": true,
  "scripts": {"dev": "next dev", "build": "next build"},
  "dependencies": {"next": "14.2.0", "react": "18.3.1", "react-dom": "18.3.1"}
}
""",
    "next.config.js": "/** @type {import('next').NextConfig} */\nmodule.exports = {};\n",
    "tsconfig.json": """{
  "compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["./*"]}, "jsx": "preserve", "strict": true}
}
""",
    "app/layout.tsx": """import Header from "@/components/Header";

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Header />
        {children}
      </body>
    </html>
  );
}
""",
    "components/Header.tsx": """import Link from "next/link";

export default function Header() {
  return (
    <nav>
      <Link href="/">Home</Link>
      <Link href="/products">Products</Link>
      <Link href="/cart">Cart</Link>
      <Link href="/login">Sign in</Link>
    </nav>
  );
}
""",
    "app/page.tsx": """import Link from "next/link";

export default function HomePage() {
  return (
    <main>
      <h1>Welcome to the demo shop</h1>
      <Link href="/products">Browse products</Link>
      <Link href="/signup">Create an account</Link>
    </main>
  );
}
""",
    "lib/catalog.ts": """export type Product = { id: string; name: string; price: number };

export const PRODUCTS: Product[] = [
  { id: "1", name: "Coffee mug", price: 12 },
  { id: "2", name: "Notebook", price: 8 },
];

export function findProduct(id: string): Product | undefined {
  return PRODUCTS.find((p) => p.id === id);
}
""",
    "components/PriceTag.tsx": """export default function PriceTag({ amount }: { amount: number }) {
  return <span data-testid="price">${amount}</span>;
}
""",
    "components/ProductCard.tsx": """import Link from "next/link";
import PriceTag from "./PriceTag";
import type { Product } from "@/lib/catalog";

export default function ProductCard({ product }: { product: Product }) {
  return (
    <article data-testid="product-card">
      <Link href={`/products/${product.id}`}>{product.name}</Link>
      <PriceTag amount={product.price} />
    </article>
  );
}
""",
    "app/products/page.tsx": """import ProductCard from "@/components/ProductCard";
import { PRODUCTS } from "@/lib/catalog";

export default function ProductsPage() {
  return (
    <main>
      <h1>Products</h1>
      {PRODUCTS.map((p) => <ProductCard key={p.id} product={p} />)}
    </main>
  );
}
""",
    "lib/cart.ts": """"use client";
import { useState } from "react";

export function useCart() {
  const [items, setItems] = useState<string[]>([]);
  return { items, add: (id: string) => setItems([...items, id]) };
}
""",
    "app/products/[id]/page.tsx": """"use client";
import Link from "next/link";
import PriceTag from "@/components/PriceTag";
import { findProduct } from "@/lib/catalog";
import { useCart } from "@/lib/cart";

export default function ProductPage({ params }: { params: { id: string } }) {
  const product = findProduct(params.id);
  const cart = useCart();
  if (!product) return <p>Not found</p>;
  return (
    <main>
      <h1>{product.name}</h1>
      <PriceTag amount={product.price} />
      <button data-testid="add-to-cart" onClick={() => cart.add(product.id)}>Add to cart</button>
      <Link href="/cart">Go to cart</Link>
    </main>
  );
}
""",
    "app/cart/page.tsx": """import Link from "next/link";
import PriceTag from "@/components/PriceTag";

export default function CartPage() {
  return (
    <main>
      <h1>Your cart</h1>
      <PriceTag amount={20} />
      <Link href="/checkout">Checkout</Link>
    </main>
  );
}
""",
    "app/(auth)/login/page.tsx": """"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";

export default function LoginPage() {
  const router = useRouter();
  return (
    <main>
      <h1>Sign in</h1>
      <form onSubmit={(e) => { e.preventDefault(); router.push("/dashboard"); }}>
        <input name="email" type="email" placeholder="Email" />
        <input name="password" type="password" placeholder="Password" />
        <button type="submit">Sign in</button>
      </form>
      <Link href="/signup">No account? Sign up</Link>
    </main>
  );
}
""",
}

SIGNED_IN_APP: dict[str, str] = {
    "middleware.ts": """import { NextResponse, type NextRequest } from "next/server";

export function middleware(request: NextRequest) {
  if (!request.cookies.get("session")) {
    return NextResponse.redirect(new URL("/login", request.url));
  }
  return NextResponse.next();
}

export const config = { matcher: ["/dashboard/:path*", "/settings/:path*", "/projects/:path*"] };
""",
    "app/(auth)/signup/page.tsx": """import { redirect } from "next/navigation";

async function createAccount(form: FormData) {
  "use server";
  redirect("/dashboard");
}

export default function SignupPage() {
  return (
    <main>
      <h1>Create your account</h1>
      <form action={createAccount}>
        <input name="name" placeholder="Full name" />
        <input name="email" type="email" />
        <input name="password" type="password" />
        <button type="submit">Create account</button>
      </form>
    </main>
  );
}
""",
    "app/checkout/page.tsx": """"use client";
import { useRouter } from "next/navigation";
import PriceTag from "@/components/PriceTag";

export default function CheckoutPage() {
  const router = useRouter();
  return (
    <main>
      <h1>Checkout</h1>
      <PriceTag amount={20} />
      <form onSubmit={(e) => { e.preventDefault(); router.push("/checkout/success"); }}>
        <input name="address" placeholder="Address" />
        <input name="card" data-testid="card-number" />
        <button type="submit">Pay now</button>
      </form>
    </main>
  );
}
""",
    "app/checkout/success/page.tsx": """export default function OrderConfirmedPage() {
  return (
    <main>
      <h1>Thank you for your order</h1>
    </main>
  );
}
""",
    "app/(app)/dashboard/page.tsx": """import Link from "next/link";

export default function DashboardPage() {
  return (
    <main>
      <h1>Dashboard</h1>
      <Link href="/projects">Your projects</Link>
      <Link href="/settings">Settings</Link>
    </main>
  );
}
""",
    "app/(app)/settings/page.tsx": """export default function SettingsPage() {
  return (
    <main>
      <h1>Settings</h1>
      <form>
        <input name="displayName" placeholder="Display name" />
        <button type="submit">Save</button>
      </form>
    </main>
  );
}
""",
    "app/(app)/projects/page.tsx": """import Link from "next/link";

export default function ProjectsPage() {
  return (
    <main>
      <h1>Projects</h1>
      <Link href="/projects/new">New project</Link>
      <Link href="/projects/1">Project one</Link>
    </main>
  );
}
""",
    "app/(app)/projects/new/page.tsx": """import { redirect } from "next/navigation";

async function createProject(form: FormData) {
  "use server";
  redirect("/projects/1");
}

export default function NewProjectPage() {
  return (
    <main>
      <h1>New project</h1>
      <form action={createProject}>
        <input name="title" placeholder="Project name" />
        <button type="submit">Create project</button>
      </form>
    </main>
  );
}
""",
    "app/(app)/projects/[id]/page.tsx": """import Link from "next/link";

export default function ProjectPage({ params }: { params: { id: string } }) {
  return (
    <main>
      <h1>Project {params.id}</h1>
      <Link href={`/projects/${params.id}/edit`}>Edit</Link>
    </main>
  );
}
""",
    "app/(app)/projects/[id]/edit/page.tsx": """export default function EditProjectPage() {
  return (
    <main>
      <h1>Edit project</h1>
      <form>
        <input name="title" />
        <button type="submit">Save changes</button>
      </form>
    </main>
  );
}
""",
}

#: The last commit: the shared price component changes (what `ci analyze` then reports on).
PRICE_CHANGE: dict[str, str] = {
    "components/PriceTag.tsx": """type Props = { amount: number; currency?: string };

export default function PriceTag({ amount, currency = "USD" }: Props) {
  const text = new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount);
  return <span data-testid="price">{text}</span>;
}
""",
}

COMMITS: tuple[tuple[str, dict[str, str]], ...] = (
    ("Storefront: products, cart, sign-in", STOREFRONT),
    ("Signed-in app: sign-up, checkout, dashboard, settings, projects", SIGNED_IN_APP),
    ("Format prices with Intl.NumberFormat", PRICE_CHANGE),
)


@dataclass(frozen=True)
class DemoApp:
    path: Path
    #: Commit SHAs, oldest first.
    commits: list[str]

    @property
    def head(self) -> str:
        return self.commits[-1]

    @property
    def base(self) -> str:
        """The parent of the last commit: `ci analyze --base <base> --head <head>` shows the last change."""
        return self.commits[-2]


#: The demo's git calls commit a few small files in a new folder: seconds at most, even on a slow disk.
DEMO_GIT_TIMEOUT_S = 60.0


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", *_GIT_IDENTITY, *args],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=DEMO_GIT_TIMEOUT_S,
        )
    except FileNotFoundError as exc:
        raise PerceoError("perceo demo needs git on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise PerceoError(f"git {args[0]} did not finish within {DEMO_GIT_TIMEOUT_S:g} s in {repo}") from exc
    if proc.returncode != 0:
        raise PerceoError(f"git {args[0]} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def build_demo_app(target: Path) -> DemoApp:
    """Create the demo app in `target` (which must not exist or be empty) as a git repo with three commits."""
    if target.exists() and any(target.iterdir()):
        raise PerceoError(f"{target} is not empty: choose a new directory for the demo app")
    target.mkdir(parents=True, exist_ok=True)
    _git(target, "init", "--quiet", "--initial-branch=main")
    commits = []
    for message, files in COMMITS:
        _write(target, files)
        _git(target, "add", "--all", "--", ".")
        _git(target, "commit", "--quiet", "--no-verify", "-m", message)
        commits.append(_git(target, "rev-parse", "HEAD"))
    return DemoApp(path=target, commits=commits)
