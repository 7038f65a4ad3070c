"""Selectors are built from what the page renders, personas from the roles the code names, and hash-routed apps get
`/#/...` URLs: the classes of apps issue 14 found wrong (Vue `v-model`, `data-test`, custom inputs, route roles)."""

from __future__ import annotations

from pathlib import Path

from fakes.memory_graph import MemoryFlowGraph

from perceo.bootstrap.markup import MarkupScanner, uses_hash_routing
from perceo.bootstrap.pagecode import scan_page
from perceo.bootstrap.pipeline import BootstrapDeps, BootstrapInput, run_bootstrap
from perceo.models import Project
from perceo.observer.snapshot import RepoSnapshot

PROJECT = "proj-selectors"


def _fields(markup: str) -> list[tuple[str | None, str]]:
    return [(f.selector, f.source) for f in scan_page(markup, "src/Page.vue").fields]


def test_a_v_model_field_never_becomes_a_name_selector_and_says_so_when_nothing_else_names_it() -> None:
    fields = _fields('<template>\n  <form>\n    <input v-model="form.email">\n  </form>\n</template>')

    assert fields == [(None, "src/Page.vue:3")]


def test_a_v_model_field_is_found_by_what_it_renders() -> None:
    markup = '<el-input v-model="q" placeholder="Search" />\n<input v-model="email" type="email">'

    assert [s for s, _ in _fields(markup)] == ['[placeholder="Search"]', 'input[type="email"]']


def test_test_ids_keep_their_attribute_and_dynamic_values_are_never_selectors() -> None:
    markup = '<input data-test="email-input" name="x">\n<input data-cy="pw">\n<input id={fieldId} name={field.name} />'

    assert [s for s, _ in _fields(markup)] == ['[data-test="email-input"]', '[data-cy="pw"]', None]


def test_labels_bound_to_a_field_give_role_and_name() -> None:
    markup = (
        '<label htmlFor="email">Email address</label>\n<input id="email" name="email" />\n'
        "<label>Remember me <input type='checkbox' name='remember' /></label>"
    )

    assert [s for s, _ in _fields(markup)] == [
        'role=textbox[name="Email address"]',
        'role=checkbox[name="Remember me"]',
    ]


def test_angular_form_controls_keep_their_attribute() -> None:
    markup = '<input formControlName="email" class="form-control">'

    assert [s for s, _ in _fields(markup)] == ['input[formcontrolname="email"]']


def test_a_custom_input_is_followed_to_the_field_it_renders() -> None:
    forwarding = 'export function Input(props) { return <input className="x" {...props} /> }'
    fixed = 'export function PinInput() { return <input type="tel" /> }'
    roots = {"Input": forwarding, "PinInput": fixed}
    from perceo.bootstrap.markup import component_root

    page = scan_page(
        '<form><Input name="email" />\n<PinInput name="pin" /></form>',
        "app/page.tsx",
        lambda tag: component_root(roots[tag]) if tag in roots else None,
    )

    # Input forwards its props, so `name` reaches the <input>; PinInput does not, so only its own type counts.
    assert [f.selector for f in page.fields] == ['input[name="email"]', 'input[type="tel"]']


def test_buttons_use_role_and_name_and_a_handler_that_logs_in_submits() -> None:
    scanner = MarkupScanner(
        '<el-form><el-button type="primary" @click.native.prevent="handleLogin">Login</el-button></el-form>',
        "src/views/login/index.vue",
    )

    [(button, submit)] = scanner.buttons(in_form=True)
    assert (button.selector, submit) == ('role=button[name="Login"]', True)
    assert button.source == "src/views/login/index.vue:1"


def test_error_headings_are_never_what_a_page_shows() -> None:
    facts = scan_page("<h1>Something went wrong: invalid password</h1><h2>Welcome back</h2>")

    assert facts.headings == ["Welcome back"]


def test_hash_routing_is_read_from_the_router_setup() -> None:
    assert uses_hash_routing("const router = new Router({\n  // mode: 'history',\n  routes })")
    assert not uses_hash_routing("const router = new Router({\n  mode: 'history',\n  routes })")
    assert uses_hash_routing("provideRouter(routes, withHashLocation())")
    assert uses_hash_routing("createRouter({ history: createWebHashHistory(), routes })")
    assert not uses_hash_routing("createRouter({ history: createWebHistory(), routes })")


VUE_APP = {
    "package.json": '{"name": "admin", "dependencies": {"vue": "2.6.10", "vue-router": "3.0.2"}}',
    "src/router/index.js": """import Vue from 'vue'
import Router from 'vue-router'
Vue.use(Router)
export const constantRoutes = [
  { path: '/login', component: () => import('@/views/login/index') },
  { path: '/dashboard', component: () => import('@/views/dashboard/index') },
]
export const asyncRoutes = [
  {
    path: '/users',
    component: () => import('@/views/users/index'),
    meta: { title: 'Users', roles: ['admin'] }
  },
  {
    path: '/articles',
    component: () => import('@/views/articles/index'),
    meta: { title: 'Articles', roles: ['admin', 'editor'] }
  },
]
const createRouter = () => new Router({ routes: constantRoutes })
export default createRouter()
""",
    "src/permission.js": """import router from './router'
const whiteList = ['/login']
router.beforeEach(async(to, from, next) => {
  if (getToken()) { next() } else if (whiteList.indexOf(to.path) !== -1) { next() }
  else { next(`/login?redirect=${to.path}`) }
})
""",
    "src/views/login/index.vue": """<template>
  <el-form>
    <h3>Login Form</h3>
    <el-input v-model="form.username" name="username" placeholder="Username" />
    <el-input v-model="form.password" name="password" type="password" />
    <el-button type="primary" @click="handleLogin">Login</el-button>
  </el-form>
</template>
<script>
export default { methods: { handleLogin() { this.$router.push({ path: '/dashboard' }) } } }
</script>
""",
    "src/views/dashboard/index.vue": """<template>
  <div><h1>Dashboard</h1><router-link to="/users">Users</router-link>
  <router-link to="/articles">Articles</router-link></div>
</template>
""",
    "src/views/users/index.vue": """<template>
  <div><h1>Users</h1><el-form><el-input v-model="q" placeholder="Find a user" />
  <el-button @click="save">Save</el-button></el-form></div>
</template>
""",
    "src/views/articles/index.vue": """<template>
  <div><h1>Articles</h1><el-form><el-input v-model="title" placeholder="Title" />
  <el-button @click="publish">Publish</el-button></el-form></div>
</template>
""",
}


def test_a_vue_admin_gets_personas_from_its_route_roles_hash_urls_and_rendered_selectors(tmp_path: Path) -> None:
    graph = MemoryFlowGraph()
    graph.create_project(Project(id=PROJECT, name="admin"))
    deps = BootstrapDeps(graph=graph, open_snapshot=lambda _ws: RepoSnapshot.from_files(dict(VUE_APP), root=tmp_path))

    run_bootstrap(BootstrapInput(project_id=PROJECT, workspace=str(tmp_path)), deps)

    flows = {f.name: f for f in graph.list_flows(PROJECT, include_steps=True)}
    personas = {p.name: p for p in graph.list_personas(PROJECT)}
    assert set(personas) == {"Visitor", "Admin", "Editor"}
    assert "src/router/index.js" in personas["Admin"].description
    users = next(f for f in flows.values() if f.pages[-1] == "/users")
    articles = next(f for f in flows.values() if f.pages[-1] == "/articles")
    assert users.personas == ["Admin"]  # `roles: ['admin']` on the route
    assert sorted(articles.personas) == ["Admin", "Editor"]
    assert flows["Sign in"].personas == ["Visitor"]
    actions = [a for s in flows["Sign in"].steps for a in s.actions]
    assert actions[0].target == "/#/login"  # vue-router 3 without `mode: 'history'` routes in the fragment
    fills = [a.target for a in actions if a.type == "fill"]
    assert fills == ['[name="username"]', '[name="password"]']  # from `name`, never from `v-model`
    click = next(a for a in actions if a.type == "click")
    assert click.target == 'role=button[name="Login"]' and click.options["source"] == "src/views/login/index.vue:6"


def test_reading_the_session_is_not_requiring_it() -> None:
    from perceo.bootstrap.guards import detect_auth
    from perceo.bootstrap.routes import RouteGraph
    from perceo.observer.model import DiscoveryResult, RouteEntry

    files = {
        # A public page that shows the user when there is one (Remix `root.tsx`-style loader).
        "app/routes/all.tsx": "const { session } = await getSession(request);\nif (!session) { return json({}) }\n",
        # A page that turns a missing session away.
        "app/routes/feed.tsx": (
            "const { session } = await getSession(request);\nif (!session?.user) { return redirect('/all') }\n"
        ),
    }
    discovery = DiscoveryResult(
        framework="remix",
        routes=[
            RouteEntry(route=f"/{n}", framework="remix", entry_files=[f"app/routes/{n}.tsx"]) for n in ("all", "feed")
        ],
    )

    auth = detect_auth(RouteGraph.build(discovery), list(files), files.get)

    assert set(auth.protected) == {"/feed"}


def test_a_react_hook_form_registration_names_the_field() -> None:
    markup = "<Input label='Title' registration={register('title')} />\n<input {...register('email')} />"

    assert [s for s, _ in _fields(markup)] == ['[name="title"]', 'input[name="email"]']
