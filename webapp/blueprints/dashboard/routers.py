"""Dashboard pages and htmx fragments for routers, their device information and the command console.

Policy (see README): a form that fails validation answers 422 with its re-rendered fragment; a command that
needs confirmation is such a form too (422: "This reboots nairobi-core. Run it?"). Fragment endpoints always
answer fragments; only the router add/edit/delete forms branch on ``HX-Request`` (redirect vs ``HX-Redirect``)
and say so with ``Vary``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.blueprints.dashboard.blueprint import bp
from webapp.blueprints.htmx import is_htmx, navigate
from webapp.forms import CommandFilterForm, CommandForm, RouterFilterForm, RouterForm
from webapp.models import Router
from webapp.permissions import Capability, allows, policy
from webapp.services import audit, commands, console, credentials, groups, routers
from webapp.services.commands import CommandFailed, CommandFilters
from webapp.services.errors import Conflict, Invalid, RouterError
from webapp.services.routers import RouterFilters

ROUTERS_PER_PAGE = 20
HISTORY_PER_PAGE = 10
AUDIT_PER_PAGE = 10
# The service's name for a field -> the form's (a WTForms form cannot have a field called "data").
_FIELD_ALIASES = {"data": "body"}


def _page_number(value: int | None) -> int:
    return value if value and value > 0 else 1


def _apply_errors(form: RouterForm | CommandForm, error: Invalid | Conflict) -> None:
    """Put a service's per-field messages next to the fields (the rest goes on the form)."""
    leftover = []
    for name, message in error.fields.items():
        field = form._fields.get(_FIELD_ALIASES.get(name.split(".")[0], name.split(".")[0]))
        if field is not None and name != "confirm":
            field.errors = [*field.errors, message]
        else:
            leftover.append(message)
    if leftover or not error.fields:
        form.form_errors.append(error.message)


def result_columns(rows: Any) -> list[str]:
    """Union of the keys of a command's rows, in first-seen order (the result table's columns)."""
    columns: dict[str, None] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            columns.update(dict.fromkeys(row))
    return list(columns)


def _group_choices(empty: str) -> list[SelectChoice]:
    return [SelectChoice("", empty), *(SelectChoice(str(g.id), g.name) for g in groups.list_groups(current_user))]


def _router_filters() -> tuple[RouterFilterForm, RouterFilters]:
    form = RouterFilterForm(formdata=request.args)
    form.group.choices = _group_choices("Any group")
    raw_group = str(form.group.data or "")
    filters = RouterFilters(
        is_online=form.is_online,
        protocol=form.protocol.data or None,
        search=(form.search.data or "").strip() or None,
        ordering=form.ordering.data or "name",
        group_id=int(raw_group) if raw_group.isdigit() else None,
        tag=(form.tag.data or "").strip() or None,
    )
    return form, filters


def _router_form(router: Router | None = None) -> RouterForm:
    form = RouterForm(obj=router)
    form.group_id.choices = _group_choices("No group")
    form.credential_profile_id.choices = [
        SelectChoice("", "None (the username and password above)"),
        *(SelectChoice(str(p.id), f"{p.name} ({p.username})") for p in credentials.list_profiles(current_user))]
    if router is not None and request.method == "GET":
        form.credential_profile_id.data = str(credentials.profile_of([router.id]).get(router.id, ""))
        form.group_id.data = str(groups.groups_of([router.id]).get(router.id, ""))
        form.tags.data = ", ".join(groups.tags_of([router.id]).get(router.id, []))
    return form


def _rows_context() -> dict[str, Any]:
    form, filters = _router_filters()
    page = routers.page_of_routers(current_user, filters, _page_number(form.page.data), ROUTERS_PER_PAGE)
    ids = [router.id for router in page.items]
    fleet = {"router_tags": groups.tags_of(ids), "router_groups": groups.groups_of(ids),
             "group_names": {g.id: g.name for g in groups.list_groups(current_user)}}
    # The filters worth keeping in links and the address bar: set, known, and not the default ordering.
    query = {name: form[name].data for name in ("search", "status", "protocol", "ordering", "group", "tag")
             if form[name].data and not (name == "ordering" and form[name].data == "name")}
    return {"filter_form": form, "page": page, "query": query, **fleet}


@bp.get("/routers")
@policy(Capability.READ)
def routers_page() -> ResponseReturnValue:
    return render_template("routers/list.html", **_rows_context())


@bp.get("/routers/rows")
@policy(Capability.READ)
def router_rows() -> ResponseReturnValue:
    context = _rows_context()
    response = Response(render_template("routers/_rows.html", **context))
    # The address bar shows the full page with these filters (not this fragment), so a reload works.
    number = context["page"].page
    response.headers["HX-Push-Url"] = url_for("dashboard.routers_page", **context["query"],
                                              **({"page": number} if number > 1 else {}))
    return response


@bp.get("/routers/new")
@policy(Capability.OPERATE)
def router_new() -> ResponseReturnValue:
    return render_template("routers/form.html", form=_router_form(), router=None)


def _render_router_form(form: RouterForm, router: Router | None, status: int) -> ResponseReturnValue:
    template = "routers/_form.html" if is_htmx() else "routers/form.html"
    response = Response(render_template(template, form=form, router=router), status=status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.post("/routers/new")
@policy(Capability.OPERATE)
def router_create() -> ResponseReturnValue:
    form = _router_form()
    if form.validate_on_submit():
        try:
            router = routers.create_router(current_user, form.router_data(), request.remote_addr)
        except Invalid as error:
            _apply_errors(form, error)
        else:
            flash(_('Router "%(name)s" added.', name=router.name), "success")
            return navigate(url_for("dashboard.router_detail", router_id=router.id))
    return _render_router_form(form, None, 422)


@bp.get("/routers/<int:router_id>")
@policy(Capability.READ)
def router_detail(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    history_form = CommandFilterForm(formdata=None)
    return render_template(
        "routers/detail.html",
        router=router,
        console=CommandForm(formdata=None),
        run=None,
        failure=None,
        needs_confirm=None,
        known_menus=console.COMMON_MENUS,
        history_form=history_form,
        # A role without the console (cashier, viewer) gets no command history; without monitoring, no audit.
        history=(commands.history(current_user, CommandFilters(router_id=router.id), 1, HISTORY_PER_PAGE)
                 if allows(current_user.role, Capability.CONSOLE) else None),
        history_query={},
        result_columns=result_columns,
        events=(audit.for_router(router.id, 1, AUDIT_PER_PAGE)
                if allows(current_user.role, Capability.MONITOR) else None),
    )


@bp.get("/routers/<int:router_id>/edit")
@policy(Capability.OPERATE)
def router_edit(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    return render_template("routers/form.html", form=_router_form(router), router=router)


@bp.post("/routers/<int:router_id>/edit")
@policy(Capability.OPERATE)
def router_update(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = _router_form()
    if form.validate_on_submit():
        try:
            routers.update_router(current_user, router_id, form.router_data(), request.remote_addr)
        except Invalid as error:
            _apply_errors(form, error)
        else:
            flash(_('Router "%(name)s" saved.', name=router.name), "success")
            return navigate(url_for("dashboard.router_detail", router_id=router_id))
    return _render_router_form(form, router, 422)


@bp.post("/routers/<int:router_id>/delete")
@policy(Capability.OPERATE)
def router_delete(router_id: int) -> ResponseReturnValue:
    name = routers.delete_router(current_user, router_id, request.remote_addr)
    flash(_('Router "%(name)s" deleted.', name=name), "success")
    return navigate(url_for("dashboard.routers_page"))


@bp.post("/routers/<int:router_id>/test")
@policy(Capability.OPERATE)
def router_test(router_id: int) -> ResponseReturnValue:
    result = routers.test_connection(current_user, router_id)
    return render_template("routers/_status.html", router=result.router, result=result)


@bp.get("/routers/<int:router_id>/device-info")
@policy(Capability.MONITOR)
def router_device_info(router_id: int) -> ResponseReturnValue:
    error = None
    info: dict[str, Any] | None = None
    try:
        info = routers.device_info(current_user, router_id)
    except RouterError as exc:
        # A down router is the panel's normal "error state", not a failed request: keep polling.
        error = exc
    router = routers.get_router(current_user, router_id)
    return render_template("routers/_device_info.html", router=router, info=info, error=error)


def confirmation_question(router: Router, command: str) -> str:
    """The console's confirm step in plain words: what the command does to this router, then "Run it?"."""
    path = (command or "").strip().strip("/").lower()
    name = router.name
    if path == "system/reboot":
        question = _("This reboots %(router)s: every hotspot client on it goes offline for a minute or two. "
                     "Run it?", router=name)
    elif path == "system/shutdown":
        question = _("This shuts %(router)s down: it stays off until someone powers it on again. Run it?",
                     router=name)
    elif path.startswith("system/reset-configuration"):
        question = _("This erases the whole configuration of %(router)s. Run it?", router=name)
    elif path in {"system/package/downgrade", "system/routerboard/upgrade"}:
        question = _("This reboots %(router)s into different software. Run it?", router=name)
    elif path.startswith("user"):
        question = _("This removes a user from %(router)s, which can lock everyone out, RouterDeck too. Run it?",
                     router=name)
    elif path.startswith("ip/service"):
        question = _("This turns off the service RouterDeck uses to reach %(router)s; RouterDeck cannot undo it. "
                     "Run it?", router=name)
    else:
        question = _("This command can cut %(router)s off. Run it?", router=name)
    return str(question)


def _console(router: Router, form: CommandForm, status: int = 200, **context: Any) -> Response:
    values = {"run": None, "failure": None, "needs_confirm": None, **context}
    response = Response(render_template("routers/_console.html", router=router, console=form,
                                        known_menus=console.COMMON_MENUS, result_columns=result_columns, **values),
                        status=status)
    if values["run"] is not None or values["failure"] is not None:
        response.headers["HX-Trigger"] = "commands-changed"
    return response


@bp.post("/routers/<int:router_id>/commands")
@policy(Capability.CONSOLE)
def router_run_command(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = CommandForm()
    if not form.validate_on_submit():
        return _console(router, form, 422)
    try:
        run = commands.run_command(current_user, router_id, form.command.data or "", form.method.data,
                                   form.params.data, form.body.data, confirm=form.confirmed,
                                   ip_address=request.remote_addr)
    except Conflict:
        return _console(router, form, 422, needs_confirm=confirmation_question(router, form.command.data or ""))
    except Invalid as error:
        _apply_errors(form, error)
        return _console(router, form, 422)
    except CommandFailed as failed:
        return _console(router, form, failure=failed, run=failed.run)
    return _console(router, form, run=run)


@bp.post("/commands/<int:command_id>/rerun")
@policy(Capability.CONSOLE)
def command_rerun(command_id: int) -> ResponseReturnValue:
    previous = commands.get_command(current_user, command_id)
    router = previous.router
    form = CommandForm(formdata=None, command=previous.command, method=previous.method,
                       params=previous.params, body=previous.data)
    try:
        run = commands.rerun(current_user, command_id, ip_address=request.remote_addr)
    except Conflict:
        return _console(router, form, 422, needs_confirm=confirmation_question(router, previous.command))
    except CommandFailed as failed:
        return _console(router, form, failure=failed, run=failed.run)
    return _console(router, form, run=run)


@bp.get("/routers/<int:router_id>/console/menus")
@policy(Capability.CONSOLE)
def router_console_menus(router_id: int) -> ResponseReturnValue:
    """The console's path suggestions (a <datalist>) for what has been typed so far."""
    options = console.suggestions(current_user, router_id, request.args.get("command", ""))
    return render_template("routers/_menus.html", known_menus=options)


@bp.get("/routers/<int:router_id>/history")
@policy(Capability.CONSOLE)
def router_history(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = CommandFilterForm(formdata=request.args)
    filters = CommandFilters(router_id=router.id, status=form.status.data or None,
                             method=form.method.data or None, search=(form.search.data or "").strip() or None)
    history = commands.history(current_user, filters, _page_number(form.page.data), HISTORY_PER_PAGE)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("routers/_history.html", router=router, history=history, history_query=query)


@bp.get("/routers/<int:router_id>/audit")
@policy(Capability.MONITOR)
def router_audit(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    page = _page_number(request.args.get("page", 1, type=int))
    return render_template("routers/_audit.html", router=router, events=audit.for_router(router.id, page,
                                                                                             AUDIT_PER_PAGE))
