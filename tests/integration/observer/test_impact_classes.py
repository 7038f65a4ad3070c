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


# -- class 3: React Router v5, guard routes, routes declared inside components an outer route renders ---------


def _v5(repo: Path) -> str:
    files = {
        **react_vite_files("v5"),
        "src/index.tsx": """
            import { render } from "react-dom";
            import App from "./App";
            render(<App />, document.getElementById("root"));
        """,
        "src/App.tsx": """
            import { BrowserRouter, Route, Switch } from "react-router-dom";
            import Main from "./Main";
            export default function App() {
              return <BrowserRouter><Switch><Route path="/" component={Main} /></Switch></BrowserRouter>;
            }
        """,
        "src/Main.tsx": """
            import { Route, Switch } from "react-router-dom";
            import Sidebar from "./Sidebar";
            import Dashboard from "./Dashboard";
            import Patients from "./patients/Patients";
            export default function Main() {
              return (
                <div>
                  <Sidebar />
                  <Switch>
                    <Route exact path="/" component={Dashboard} />
                    <Route path="/patients" component={Patients} />
                  </Switch>
                </div>
              );
            }
        """,
        "src/Sidebar.tsx": "export default function Sidebar() { return <aside />; }\n",
        "src/Dashboard.tsx": "export default function Dashboard() { return <h1 />; }\n",
        "src/PrivateRoute.tsx": """
            import { Route } from "react-router-dom";
            export default function PrivateRoute({ component, path, exact }: any) {
              return <Route exact={exact} path={path} component={component} />;
            }
        """,
        "src/patients/Patients.tsx": """
            import { Switch } from "react-router-dom";
            import PrivateRoute from "../PrivateRoute";
            import NewPatient from "./NewPatient";
            import PatientList from "./PatientList";
            import ViewPatient from "./ViewPatient";
            export default function Patients() {
              return (
                <Switch>
                  <PrivateRoute exact path="/patients" component={PatientList} />
                  <PrivateRoute exact path="/patients/new" component={NewPatient} />
                  <PrivateRoute path="/patients/:id" component={ViewPatient} />
                </Switch>
              );
            }
        """,
        "src/patients/NewPatient.tsx": "export default function NewPatient() { return <form />; }\n",
        "src/patients/PatientList.tsx": "export default function PatientList() { return <table />; }\n",
        "src/patients/ViewPatient.tsx": """
            import { Route, useRouteMatch } from "react-router-dom";
            import Header from "./Header";
            import General from "./General";
            import Notes from "./Notes";
            export default function ViewPatient() {
              const { path } = useRouteMatch();
              return (
                <>
                  <Header />
                  <Route exact path={path}><General /></Route>
                  <Route exact path={`${path}/notes`}><Notes /></Route>
                </>
              );
            }
        """,
        "src/patients/Header.tsx": "export default function Header() { return <header />; }\n",
        "src/patients/General.tsx": "export default function General() { return <p />; }\n",
        "src/patients/Notes.tsx": "export default function Notes() { return <ul />; }\n",
    }
    return _commit(repo, files, "v5 app")


def test_v5_guard_routes_and_routes_declared_by_rendered_components_are_found(tmp_path: Path) -> None:
    from perceo.observer.discovery import discover
    from perceo.observer.snapshot import RepoSnapshot

    _v5(tmp_path)
    with RepoSnapshot.working_tree(tmp_path) as snapshot:
        routes = {r.route: (r.entry_files, r.layout_files) for r in discover(snapshot).routes}
    assert set(routes) == {"/", "/patients", "/patients/new", "/patients/:id", "/patients/:id/notes"}
    assert routes["/patients/:id/notes"] == (
        ["src/patients/Notes.tsx"],
        ["src/Main.tsx", "src/patients/Patients.tsx", "src/patients/ViewPatient.tsx"],
    )


def test_v5_impact_follows_the_layouts_that_wrap_a_route(tmp_path: Path) -> None:
    base = _v5(tmp_path)
    head = _commit(tmp_path, {"src/patients/Header.tsx": "export default () => <header>x</header>;\n"}, "header")
    assert set(_affected(tmp_path, base, head)) == {"/patients/:id", "/patients/:id/notes"}
    head2 = _commit(tmp_path, {"src/patients/Notes.tsx": "export default () => <ol />;\n"}, "notes")
    assert set(_affected(tmp_path, head, head2)) == {"/patients/:id/notes"}
    head3 = _commit(tmp_path, {"src/Sidebar.tsx": "export default () => <nav />;\n"}, "sidebar")
    every = {"/", "/patients", "/patients/new", "/patients/:id", "/patients/:id/notes"}
    assert set(_affected(tmp_path, head2, head3)) == every
    head4 = _commit(tmp_path, {".env.example": "API_URL=\n"}, "docs")
    assert _affected(tmp_path, head3, head4) == {}


# -- class 4: Vue route modules, shared layouts, global components ------------------------------------------


def _vue(repo: Path) -> str:
    files = {
        "package.json": '{"name": "admin", "dependencies": {"vue": "^2.6.0", "vue-router": "^3.0.0"}}\n',
        "src/main.js": """
            import Vue from "vue";
            import App from "./App.vue";
            import router from "./router";
            import "./icons";
            new Vue({ router, render: (h) => h(App) }).$mount("#app");
        """,
        "src/App.vue": "<template><router-view /></template>\n",
        "src/icons/index.js": """
            import Vue from "vue";
            import SvgIcon from "@/components/SvgIcon";
            Vue.component("svg-icon", SvgIcon);
        """,
        "src/components/SvgIcon/index.vue": "<template><svg /></template>\n",
        "src/layout/index.vue": "<template><div><svg-icon /><router-view /></div></template>\n",
        "src/router/index.js": """
            import Router from "vue-router";
            import Layout from "@/layout";
            import chartsRouter from "./modules/charts";
            export const constantRoutes = [
              { path: "/login", component: () => import("@/views/login/index") },
              { path: "/", component: Layout, redirect: "/dashboard",
                children: [{ path: "dashboard", component: () => import("@/views/dashboard/index") }] },
              { path: "/guide", component: Layout,
                children: [{ path: "index", component: () => import("@/views/guide/index") }] },
              chartsRouter,
              { path: "external-link", component: Layout, children: [{ path: "https://example.com" }] },
            ];
            export default new Router({ routes: constantRoutes });
        """,
        "src/router/modules/charts.js": """
            import Layout from "@/layout";
            const chartsRouter = {
              path: "/charts",
              component: Layout,
              redirect: "noRedirect",
              children: [{ path: "line", component: () => import("@/views/charts/line") }],
            };
            export default chartsRouter;
        """,
        "src/views/login/index.vue": "<template><form><svg-icon /></form></template>\n",
        "src/views/dashboard/index.vue": "<template><h1 /></template>\n",
        "src/views/guide/index.vue": "<template><p /></template>\n",
        "src/views/charts/line.vue": "<template><canvas /></template>\n",
        "jsconfig.json": '{"compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["src/*"]}}}\n',
    }
    return _commit(repo, files, "vue app")


def test_vue_route_modules_keep_their_prefix_and_shared_layouts_are_not_pages(tmp_path: Path) -> None:
    from perceo.observer.discovery import discover
    from perceo.observer.snapshot import RepoSnapshot

    _vue(tmp_path)
    with RepoSnapshot.working_tree(tmp_path) as snapshot:
        routes = {r.route: r for r in discover(snapshot).routes}
    assert set(routes) == {"/login", "/dashboard", "/guide/index", "/charts/line"}
    assert routes["/charts/line"].layout_files == ["src/App.vue", "src/layout/index.vue"]
    assert routes["/charts/line"].config_files == ["src/router/index.js", "src/router/modules/charts.js"]


def test_a_globally_registered_component_affects_the_routes_whose_templates_use_it(tmp_path: Path) -> None:
    base = _vue(tmp_path)
    head = _commit(tmp_path, {"src/components/SvgIcon/index.vue": "<template><svg><g /></svg></template>\n"}, "icon")
    # the login page uses <svg-icon>, and the shared Layout wraps every other route
    assert set(_affected(tmp_path, base, head)) == {"/login", "/dashboard", "/guide/index", "/charts/line"}
    head2 = _commit(tmp_path, {"src/views/guide/index.vue": "<template><p>x</p></template>\n"}, "guide")
    assert set(_affected(tmp_path, head, head2)) == {"/guide/index"}


def test_route_paths_given_as_constants_from_another_module_in_an_app_under_a_sub_folder(tmp_path: Path) -> None:
    from perceo.observer.discovery import discover
    from perceo.observer.snapshot import RepoSnapshot

    files = {
        "package.json": '{"name": "examples", "private": true}\n',  # a root manifest that is no app
        **{f"apps/spa/{name}": content for name, content in react_vite_files("spa").items()},
        "apps/spa/src/config/paths.ts": """
            export const paths = {
              home: { path: "/", getHref: () => "/" },
              app: { root: { path: "/app" }, users: { path: "users" } },
            } as const;
        """,
        "apps/spa/src/main.tsx": """
            import { createBrowserRouter } from "react-router-dom";
            import { paths } from "./config/paths";
            import { ROUTES } from "./routes";
            import Home from "./Home";
            import Users from "./Users";
            import Settings from "./Settings";
            export const router = createBrowserRouter([
              { path: paths.home.path, element: <Home /> },
              { path: paths.app.root.path, children: [{ path: paths.app.users.path, element: <Users /> }] },
              { path: ROUTES.settings, element: <Settings /> },
            ]);
        """,
        "apps/spa/src/routes.ts": 'export const ROUTES = { settings: "/settings" };\n',
        "apps/spa/src/Home.tsx": "export default () => null;\n",
        "apps/spa/src/Users.tsx": "export default () => null;\n",
        "apps/spa/src/Settings.tsx": "export default () => null;\n",
    }
    _commit(tmp_path, files, "app in a sub-folder")
    with RepoSnapshot.working_tree(tmp_path) as snapshot:
        routes = {(r.app, r.route) for r in discover(snapshot).routes}
    assert routes == {("apps/spa", "/"), ("apps/spa", "/app/users"), ("apps/spa", "/settings")}


# -- class 5: React Router 7 framework mode conventions ------------------------------------------------------


def test_react_router_auto_routes_folder_conventions(tmp_path: Path) -> None:
    from perceo.observer.discovery import discover
    from perceo.observer.snapshot import RepoSnapshot

    page = "export default function Page() { return null; }\n"
    files = {
        "package.json": '{"name": "admin", "dependencies": {"react-router": "^7", "@react-router/dev": "^7"}}\n',
        "react-router.config.ts": "export default { ssr: false };\n",
        "app/root.tsx": page,
        "app/routes.ts": (
            "import type { RouteConfig } from '@react-router/dev/routes';\n"
            "import { autoRoutes } from 'react-router-auto-routes';\n"
            "export default autoRoutes() satisfies RouteConfig;\n"
        ),
        "app/routes/_auth/_layout.tsx": page,
        "app/routes/_auth/sign-in/index.tsx": page,
        "app/routes/_auth/sign-in/+components/form.tsx": page,
        "app/routes/_app/_layout.tsx": page,
        "app/routes/_app/_index/index.tsx": page,
        "app/routes/_app/tasks/_layout.tsx": page,
        "app/routes/_app/tasks/_index/index.tsx": page,
        "app/routes/_app/tasks/$task._index.tsx": page,
        "app/routes/_app/tasks/$task.delete.ts": "export const action = () => null;\n",
        "app/routes/_app/help-center.tsx": page,
    }
    _commit(tmp_path, files, "rr7")
    with RepoSnapshot.working_tree(tmp_path) as snapshot:
        routes = {r.route: (r.kind, r.layout_files) for r in discover(snapshot).routes}
    assert set(routes) == {"/", "/sign-in", "/tasks", "/tasks/:task", "/tasks/:task/delete", "/help-center"}
    assert routes["/tasks/:task"] == (
        "page",
        ["app/root.tsx", "app/routes/_app/_layout.tsx", "app/routes/_app/tasks/_layout.tsx"],
    )
    assert routes["/tasks/:task/delete"][0] == "api"


def test_nuxt_auto_imported_composables_reach_the_pages_that_call_them(tmp_path: Path) -> None:
    files = {
        "package.json": '{"name": "movies", "dependencies": {"nuxt": "^3.0.0"}}\n',
        "nuxt.config.ts": "export default defineNuxtConfig({});\n",
        "app.vue": "<template><NuxtPage /></template>\n",
        "composables/tmdb.ts": "export async function listMedia(q: string) { return q; }\n",
        "utils/format.ts": "export function formatDate(d: string) { return d; }\n",
        "pages/index.vue": '<script setup lang="ts">\nconst list = await listMedia("x");\n</script>\n',
        "pages/about.vue": '<script setup lang="ts">\nconst when = formatDate("now");\n</script>\n',
    }
    base = _commit(tmp_path, files, "nuxt")
    head = _commit(
        tmp_path, {"composables/tmdb.ts": "export async function listMedia(q: string) { return q + 1; }\n"}, "x"
    )
    assert set(_affected(tmp_path, base, head)) == {"/"}
