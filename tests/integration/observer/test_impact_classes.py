"""Impact on the code people write, one small real git repository per class (issue 13), run through the whole
client pipeline (`analyze_checkout`: diff, impact graphs of base and head, affected routes)."""

from __future__ import annotations

from pathlib import Path

from apps import git_commit_all, react_vite_files, write_files

from perceo.observer.analyze import analyze_checkout


def _affected(repo: Path, base: str, head: str) -> dict[str, list[str]]:
    """route -> reason kinds, for the change base..head."""
    _change, affected = analyze_checkout(repo, base, head)
    return {a.route: sorted({r.kind for r in a.reasons}) for a in affected}


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    write_files(repo, files)
    return git_commit_all(repo, message)


_ROUTE_TABLE = """
    import { createBrowserRouter } from "react-router-dom";
    import Shell from "./layouts/Shell";
    import Home from "./pages/Home";
    import Users from "./pages/Users";
    import Billing from "./pages/Billing";
    import Login from "./pages/Login";

    export const router = createBrowserRouter([
      {
        path: "/",
        element: <Shell />,
        children: [
          { index: true, element: <Home /> },
          { path: "users", element: <Users /> },
          { path: "billing", element: <Billing /> },
        ],
      },
      { path: "/login", element: <Login /> },
    ]);
"""


def _spa(repo: Path) -> str:
    files = {
        **react_vite_files("spa"),
        "src/main.tsx": """
            import { createRoot } from "react-dom/client";
            import { App } from "./App";
            import "./index.css";
            createRoot(document.getElementById("root")!).render(<App />);
        """,
        "src/App.tsx": """
            import { RouterProvider } from "react-router-dom";
            import { Providers } from "./providers";
            import { router } from "./router";
            export function App() {
              return <Providers><RouterProvider router={router} /></Providers>;
            }
        """,
        "src/providers.tsx": """
            import { store } from "./store";
            export function Providers({ children }: { children: unknown }) {
              return <div data-store={store}>{children}</div>;
            }
        """,
        "src/store.ts": "export const store = { user: null };\n",
        "src/index.css": "body { margin: 0 }\n",
        "src/router.tsx": _ROUTE_TABLE,
        "src/layouts/Shell.tsx": """
            import { Outlet } from "react-router-dom";
            import { Nav } from "../components/Nav";
            export default function Shell() { return <><Nav /><Outlet /></>; }
        """,
        "src/components/Nav.tsx": "export function Nav() { return <nav>nav</nav>; }\n",
        "src/components/Table.tsx": "export function Table() { return <table />; }\n",
        "src/pages/Home.tsx": "export default function Home() { return <h1>Home</h1>; }\n",
        "src/pages/Users.tsx": """
            import { Table } from "../components/Table";
            export default function Users() { return <Table />; }
        """,
        "src/pages/Billing.tsx": """
            import { Table } from "../components/Table";
            export default function Billing() { return <Table />; }
        """,
        "src/pages/Login.tsx": "export default function Login() { return <form />; }\n",
    }
    return _commit(repo, files, "app")


# -- class 1: the route table is not a layout ------------------------------------------------------------


def test_a_page_change_affects_only_its_route_not_every_route_of_the_table(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    head = _commit(tmp_path, {"src/pages/Users.tsx": "export default function Users() { return <p />; }\n"}, "x")
    assert _affected(tmp_path, base, head) == {"/users": ["entry"]}


def test_a_shared_component_reaches_only_the_routes_that_import_it(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    head = _commit(tmp_path, {"src/components/Table.tsx": "export function Table() { return <div />; }\n"}, "x")
    assert set(_affected(tmp_path, base, head)) == {"/users", "/billing"}


def test_a_layout_route_component_wraps_its_children_only(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    head = _commit(tmp_path, {"src/components/Nav.tsx": "export function Nav() { return <nav>x</nav>; }\n"}, "x")
    assert set(_affected(tmp_path, base, head)) == {"/", "/users", "/billing"}  # not /login


def test_a_route_table_change_affects_the_routes_whose_definition_changed(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    table = _ROUTE_TABLE.replace('{ path: "billing", element: <Billing /> }', '{ path: "plans", element: <Billing /> }')
    head = _commit(tmp_path, {"src/router.tsx": table}, "rename billing to plans")
    # /billing is gone (a removed route), /plans is new; /users, / and /login are declared as before
    assert _affected(tmp_path, base, head) == {"/billing": ["route"], "/plans": ["route"]}


def test_a_route_option_change_in_the_table_affects_that_route_only(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    login = '{ path: "/login", element: <Login /> }'
    table = _ROUTE_TABLE.replace(login, login.replace(" }", ', id: "x" }'))
    head = _commit(tmp_path, {"src/router.tsx": table}, "login option")
    assert _affected(tmp_path, base, head) == {"/login": ["route"]}


# -- class 2: the app shell affects everything -----------------------------------------------------------


def test_app_shell_files_affect_every_route_with_the_shell_reason(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    every = {"/", "/users", "/billing", "/login"}
    for name, content in [
        ("src/main.tsx", "import { App } from './App';\nimport './index.css';\nApp();\n"),
        ("src/App.tsx", "import { Providers } from './providers';\nimport { router } from './router';\n"),
        ("src/providers.tsx", "import { store } from './store';\nexport const Providers = () => store;\n"),
        ("src/store.ts", "export const store = { user: 1 };\n"),
    ]:
        head = _commit(tmp_path, {name: content}, name)
        found = _affected(tmp_path, base, head)
        assert set(found) == every, name
        assert all("shell" in kinds for kinds in found.values()), name
        base = head


def test_a_global_stylesheet_imported_by_the_entry_is_shell(tmp_path: Path) -> None:
    base = _spa(tmp_path)
    head = _commit(tmp_path, {"src/index.css": "body { margin: 1px }\n"}, "css")
    assert set(_affected(tmp_path, base, head)) == {"/", "/users", "/billing", "/login"}
