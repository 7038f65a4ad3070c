"""The offline flow rules on small route graphs: journeys follow what users do (the link they click, where the
code redirects after a form succeeds, the list that leads to a record), not just the shape of the routes."""

from __future__ import annotations

from perceo.bootstrap.guards import AuthModel
from perceo.bootstrap.heuristic import FlowFinder, derive_flows_and_personas
from perceo.bootstrap.pagecode import PageReader
from perceo.bootstrap.routes import RouteGraph
from perceo.observer.model import DiscoveryResult, NavEdge, RouteEntry


def _finder(
    routes: dict[str, str],
    edges: list[tuple[str, ...]],
    files: dict[str, str] | None = None,
    *,
    protected: set[str] = frozenset(),  # type: ignore[assignment]
    layouts: dict[str, list[str]] | None = None,
    imports: dict[str, list[str]] | None = None,
) -> FlowFinder:
    """routes: route -> its page file; edges: (source, target, kind, file[, line])."""
    discovery = DiscoveryResult(
        framework="test",
        routes=[
            RouteEntry(route=r, framework="test", entry_files=[f], layout_files=(layouts or {}).get(r, []))
            for r, f in routes.items()
        ],
        navigation=[
            NavEdge(source=e[0], target=e[1], kind=e[2], file=e[3], line=int(e[4]) if len(e) > 4 else 1)  # type: ignore[arg-type]
            for e in edges
        ],
    )
    graph = RouteGraph.build(discovery)
    texts = files or {}
    auth = AuthModel(
        protected={r: "test" for r in protected},
        login_routes=[r for r in routes if r.endswith("login")],
        signup_routes=[r for r in routes if r.endswith(("signup", "register"))],
    )
    return FlowFinder(graph, auth, PageReader(graph, imports or {}, texts.get))


def _flows(finder: FlowFinder, max_flows: int = 15) -> dict[str, list[str]]:
    return {f.name: f.pages for f in derive_flows_and_personas(finder, max_flows=max_flows).flows}


def test_create_ends_where_the_code_redirects_after_success_and_edit_goes_through_the_record() -> None:
    finder = _finder(
        {
            "/models": "models.tsx",
            "/models/new": "new.tsx",
            "/models/:id": "model.tsx",
            "/models/:id/edit": "edit.tsx",
            "/login": "login.tsx",
        },
        [
            ("/models", "/models/new", "link", "models.tsx"),
            ("/models/new", "/login", "redirect", "new.tsx"),  # the guard's redirect is no success state
            ("/models/new", "/models/:id", "redirect", "new.tsx"),
            ("/models/:id", "/models/:id/edit", "link", "model.tsx"),
        ],
    )

    flows = _flows(finder)

    assert flows["Create model"] == ["/models", "/models/new", "/models/:id"]
    assert flows["Edit model"] == ["/models", "/models/:id", "/models/:id/edit"]


def test_edit_pages_written_verb_first_and_lists_named_list_are_one_resource() -> None:
    finder = _finder(
        {"/article/list": "list.vue", "/article/create": "create.vue", "/article/edit/:id": "edit.vue"},
        [("/article/list", "/article/edit/:id", "routerLink", "list.vue")],
    )

    flows = _flows(finder)

    assert flows["Create article"] == ["/article/list", "/article/create"]
    assert flows["Edit article"] == ["/article/list", "/article/edit/:id"]


def test_sign_up_goes_through_the_sign_in_link_and_both_start_at_the_landing_pages_link() -> None:
    finder = _finder(
        {"/": "home.tsx", "/login": "login.tsx", "/register": "register.tsx", "/dashboard": "dash.tsx"},
        [
            ("/", "/login", "link", "home.tsx"),
            ("/login", "/register", "link", "login.tsx"),
            ("/login", "/dashboard", "navigate", "login.tsx"),
            ("/register", "/dashboard", "navigate", "register.tsx"),
        ],
        protected={"/dashboard"},
    )

    flows = _flows(finder)

    assert flows["Sign in"] == ["/", "/login", "/dashboard"]
    # A visitor arrives on the landing page, follows its link to sign in, then "create an account".
    assert flows["Sign up"] == ["/", "/login", "/register", "/dashboard"]


def test_lists_lead_to_the_record_page_their_shared_card_links_to() -> None:
    card = "components/Card.vue"
    finder = _finder(
        {
            "/": "index.vue",
            "/:type": "type.vue",
            "/:type/:id": "title.vue",
            "/:type/category/:query": "category.vue",
            "/search": "search.vue",
        },
        [
            ("/", "/:type", "to", "layout.vue"),
            ("/:type", "/:type/:id", "to", card),
            ("/:type", "/:type/category/:query", "to", "components/Carousel.vue"),
            ("/:type/category/:query", "/:type/:id", "to", card),
            ("/search", "/:type/:id", "to", card),
            ("/", "/:type/:id", "to", card),
        ],
    )

    pages = list(_flows(finder).values())

    assert ["/", "/:type", "/:type/:id"] in pages  # the section's list, opened from the home page's navigation
    assert ["/:type", "/:type/category/:query", "/:type/:id"] in pages
    assert ["/search", "/:type/:id"] in pages


def test_a_record_edited_in_place_returns_where_the_user_came_from() -> None:
    finder = _finder(
        {"/dashboard": "dashboard.tsx", "/editor/:postId": "editor.tsx"},
        [
            ("/dashboard", "/editor/:postId", "link", "post-item.tsx"),
            ("/editor/:postId", "/dashboard", "link", "editor.tsx"),
        ],
        {"editor.tsx": "export default function E() { return <form onSubmit={save}><EditorContent /></form> }"},
    )

    assert ["/dashboard", "/editor/:postId", "/dashboard"] in _flows(finder).values()


def test_a_layout_only_route_is_not_a_page_of_any_flow() -> None:
    layout = "src/layout/index.vue"
    finder = _finder(
        {
            "/": layout,
            "/profile": layout,
            "/example": layout,
            "/dashboard": "src/views/dashboard.vue",
            "/profile/index": "src/views/profile.vue",
            "/example/list": "src/views/example/list.vue",
            "/example/create": "src/views/example/create.vue",
            "/login": "src/views/login.vue",
        },
        [],
    )

    flows = _flows(finder)

    assert flows["Update profile"] == ["/dashboard", "/profile/index"]
    assert not any(p in ("/", "/profile", "/example") for pages in flows.values() for p in pages)


def test_a_one_page_app_is_one_flow_on_that_page() -> None:
    finder = _finder(
        {"/": "app/page.tsx"},
        [],
        {"app/page.tsx": "export default function P() { return <EditorRoot><EditorContent /></EditorRoot> }"},
    )

    assert _flows(finder) == {"Work in the editor": ["/"]}


def test_a_marketing_pages_call_to_action_is_a_visitors_journey() -> None:
    finder = _finder(
        {"/": "home.tsx", "/pricing": "pricing.tsx", "/login": "login.tsx", "/dashboard": "dash.tsx"},
        [("/pricing", "/login", "link", "pricing.tsx"), ("/login", "/dashboard", "redirect", "login.tsx")],
        protected={"/dashboard"},
    )

    result = derive_flows_and_personas(finder, max_flows=15)

    flow = next(f for f in result.flows if f.name == "Sign in from pricing")
    assert flow.pages == ["/pricing", "/login", "/dashboard"] and flow.personas == ["Visitor"]


def test_a_form_that_sends_the_user_back_to_the_list_ends_the_flow_there() -> None:
    finder = _finder(
        {"/tasks": "tasks.tsx", "/tasks/create": "create.tsx", "/tasks/:task/delete": "delete.tsx"},
        [
            ("/tasks", "/tasks/create", "link", "tasks.tsx"),
            ("/tasks/create", "/tasks", "redirect", "create.tsx"),  # `redirectWithSuccess('/tasks')` in the action
            ("/tasks/:task/delete", "/tasks", "redirect", "delete.tsx"),
        ],
    )

    flows = _flows(finder)

    assert flows["Create task"] == ["/tasks", "/tasks/create", "/tasks"]
    assert flows["Delete task"] == ["/tasks", "/tasks/:task/delete", "/tasks"]


def test_a_redirect_in_the_loader_turns_visitors_away_and_is_not_where_the_form_leads() -> None:
    new_page = (
        "export const loader = async () => {\n"
        "  if (!user) return redirect('/');\n"  # line 2: the guard
        "};\n"
        "export const action = async () => {\n"
        "  return redirect(`/models/${id}`);\n"  # line 5: after the form succeeds
        "};\n"
    )
    finder = _finder(
        {"/": "home.tsx", "/models/new": "new.tsx", "/models/:id": "model.tsx"},
        [("/", "/models/new", "link", "home.tsx"), ("/models/new", "/", "redirect", "new.tsx", "2")],
        {"new.tsx": new_page},
    )
    assert finder.after_submit("/models/new") is None

    finder = _finder(
        {"/": "home.tsx", "/models/new": "new.tsx", "/models/:id": "model.tsx"},
        [("/models/new", "/models/:id", "redirect", "new.tsx", "5")],
        {"new.tsx": new_page.replace("redirect('/')", "redirect('/models/1')")},
    )
    assert finder.after_submit("/models/new") == "/models/:id"


def test_the_record_a_form_creates_is_its_success_state_not_the_list_its_cancel_returns_to() -> None:
    finder = _finder(
        {"/patients": "list.tsx", "/patients/new": "new.tsx", "/patients/:id": "view.tsx"},
        [
            ("/patients/new", "/patients", "push", "new.tsx", "46"),  # onCancel
            ("/patients/new", "/patients/:id", "push", "new.tsx", "50"),  # onSuccess
        ],
    )

    assert _flows(finder)["Create patient"] == ["/patients", "/patients/new", "/patients/:id"]


def test_a_list_that_creates_its_records_in_a_drawer_has_a_create_flow() -> None:
    finder = _finder(
        {"/app": "dashboard.tsx", "/app/discussions": "discussions.tsx", "/app/discussions/:id": "discussion.tsx"},
        [("/app", "/app/discussions", "link", "layout.tsx"), ("/app/discussions", "/app/discussions/:id", "link", "x")],
        {
            "discussions.tsx": (
                "export default function D() { return <Form onSubmit={create}>"
                "<Input label='Title' registration={register('title')} /><Button type='submit'>Submit</Button></Form> }"
            )
        },
    )

    flows = _flows(finder)

    assert flows["Create discussion"] == ["/app", "/app/discussions"]
    assert flows["Browse discussions"] == ["/app", "/app/discussions", "/app/discussions/:id"]


def test_a_record_page_that_is_its_edit_form_is_the_edit_flow_back_to_the_list() -> None:
    # shadcn-admin: `/tasks/:task` renders the task's form; its action saves and redirects to `/tasks`.
    finder = _finder(
        {"/tasks": "tasks.tsx", "/tasks/:task": "task.tsx", "/tasks/create": "create.tsx"},
        [
            ("/tasks", "/tasks/:task", "to", "row-actions.tsx"),
            ("/tasks", "/tasks/create", "to", "tasks.tsx"),
            ("/tasks/:task", "/tasks", "redirect", "task.tsx"),
            ("/tasks/create", "/tasks", "redirect", "create.tsx"),
        ],
        {"task.tsx": "export default function T() { return <Form method='post'><Input name='title' /></Form> }"},
    )

    flows = _flows(finder)

    assert flows["Edit task"] == ["/tasks", "/tasks/:task", "/tasks"]
    assert flows["Create task"] == ["/tasks", "/tasks/create", "/tasks"]
    assert "Browse tasks" not in flows  # the edit flow walks it


def test_a_record_page_without_a_form_is_browsed_not_edited() -> None:
    finder = _finder(
        {"/tasks": "tasks.tsx", "/tasks/:task": "task.tsx"},
        [("/tasks", "/tasks/:task", "to", "tasks.tsx"), ("/tasks/:task", "/tasks", "redirect", "task.tsx")],
        {"task.tsx": "export default function T() { return <h1>Task</h1> }"},
    )

    flows = _flows(finder)

    assert "Edit task" not in flows and flows["Browse tasks"] == ["/tasks", "/tasks/:task"]


def test_a_page_is_entered_from_above_not_from_its_own_sub_pages() -> None:
    # The sidebar that links to `/settings` is built from data; only the settings sections link back to it.
    finder = _finder(
        {
            "/": "home.tsx",
            "/settings": "settings.tsx",
            "/settings/account": "account.tsx",
            "/settings/notifications": "notifications.tsx",
        },
        [
            ("/settings/notifications", "/settings", "to", "notifications.tsx"),
            ("/settings/account", "/settings", "to", "account.tsx"),
        ],
    )

    assert finder.entry_for("/settings") is None
    assert _flows(finder)["Update settings"][:2] == ["/", "/settings"]


def test_a_next_page_that_wraps_its_client_component_is_read_through_to_the_dialogs_it_opens() -> None:
    # bulletproof-react's Next app: the server `page.tsx` renders `_components/users.tsx`, which renders the users
    # list, whose rows open the delete dialog (`delete-user.tsx`); a drawer creates discussions the same way.
    page, client = "src/app/app/users/page.tsx", "src/app/app/users/_components/users.tsx"
    list_, delete = "src/features/users/components/users-list.tsx", "src/features/users/components/delete-user.tsx"
    helper = "src/features/users/components/user-avatar.tsx"
    finder = _finder(
        {"/app": "src/app/app/page.tsx", "/app/users": page},
        [("/app", "/app/users", "link", "src/app/app/page.tsx")],
        {
            page: "export default function Page() { return <Users /> }",
            client: "export const Users = () => <UsersList />;",
            list_: "export const UsersList = () => <table><tr><td><UserAvatar /><DeleteUser /></td></tr></table>;",
            delete: "export const DeleteUser = () => <Button variant='destructive'>Delete</Button>;",
            helper: "export const UserAvatar = () => <Button>Zoom</Button>;",
        },
        imports={page: [client], client: [list_], list_: [helper, delete]},
    )

    files = finder.reader.component_files("/app/users") if finder.reader else []
    assert delete in files and helper not in files  # a row action, not every component the list uses
    assert _flows(finder)["Use app users"] == ["/app", "/app/users"]


def test_when_the_cap_bites_it_keeps_breadth_not_eleven_demos_of_one_section() -> None:
    # An admin template: eleven pages under /base, one /widgets page, one /charts page, all with buttons, all in the
    # layout of the dashboard (whose sidebar is built from the route table: no link in the code).
    layout = ["src/app/layout/default-layout.component.ts"]
    sections = [f"/base/{name}" for name in "abcdefghijk"] + ["/widgets", "/charts"]
    routes = {"/dashboard": "dashboard.ts", **{r: f"{r.strip('/')}.ts" for r in sections}}
    files = {f: "<button (click)='go()'>Go</button>" for r, f in routes.items() if r != "/dashboard"}
    finder = _finder(routes, [], files, layouts={r: layout for r in routes})

    flows = _flows(finder, max_flows=5)

    assert len(flows) == 5
    pages = {p for visited in flows.values() for p in visited}
    assert {"/widgets", "/charts"} <= pages  # one section's demos do not crowd out the others
    assert all(visited[0] == "/dashboard" for visited in flows.values())  # reached from the home, by the menu


def test_when_the_cap_bites_lists_leading_to_one_record_page_count_as_one_journey() -> None:
    lists = ["/all", "/popular", "/trending", "/favorites"]
    routes = {"/": "home.tsx", "/:username": "user.tsx", "/:username/followers": "followers.tsx", "/:username/:id": "m"}
    routes |= {r: f"{r.strip('/')}.tsx" for r in lists}
    edges = [("/", r, "link", "home.tsx") for r in lists]
    edges += [(r, "/:username/:id", "link", "model-card.tsx") for r in lists]
    edges += [("/:username", "/:username/followers", "link", "user.tsx"), ("/:username", "/:username/:id", "to", "u")]
    finder = _finder(routes, edges)
    assert len(_flows(finder, max_flows=100)) > 4

    flows = _flows(finder, max_flows=4)

    assert ["/:username", "/:username/followers"] in flows.values()


def test_sign_up_starts_at_the_landing_pages_call_to_action_when_it_leads_to_sign_in() -> None:
    home = (
        "export default function Landing() {\n"
        "  return <Button onClick={() => navigate('/auth/login')}>Start</Button>\n"
        "}\n"
    )
    finder = _finder(
        {"/": "landing.tsx", "/auth/login": "login.tsx", "/auth/register": "register.tsx", "/app": "dash.tsx"},
        [
            ("/", "/auth/login", "navigate", "landing.tsx", "2"),  # "Get started"
            ("/auth/login", "/auth/register", "to", "login-form.tsx"),
            ("/auth/register", "/app", "navigate", "register.tsx"),
        ],
        {"landing.tsx": home},
        protected={"/app"},
    )

    assert _flows(finder)["Sign up"] == ["/", "/auth/login", "/auth/register", "/app"]


def test_a_menu_item_many_pages_render_is_not_where_a_pages_form_leads() -> None:
    # A dashboard shell imported by each page (not a layout route): its "Your profile" item pushes /app/profile.
    shell = "src/components/layouts/dashboard-layout.tsx"
    pages = {"/app": "app.tsx", "/app/discussions": "list.tsx", "/app/discussions/:id": "one.tsx", "/app/profile": "p"}
    edges = [
        (page, "/app/profile", "push", shell, "197") for page in ("/app", "/app/discussions", "/app/discussions/:id")
    ]
    edges += [("/app/discussions", "/app/discussions/:id", "link", "list.tsx")]
    finder = _finder(pages, edges, {"one.tsx": "export default () => <form><textarea name='body' /></form>"})

    assert finder.after_submit("/app/discussions/:id") is None
    assert "Edit discussion" not in _flows(finder)
