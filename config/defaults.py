"""Built-in defaults that a centre's file may replace: the priority categories of the law.

The Quechua names are working translations to be reviewed by a certified translator; a
centre replaces them in its own [[priorities]] tables without touching code.
"""

from config.model import Priority

DEFAULT_PRIORITIES: tuple[Priority, ...] = (
    Priority(code="normal", name_es="Atención general", name_qu="Llapa runapaq",
             name_en="General", order=0),
    Priority(code="gestante", name_es="Gestante", name_qu="Wiksayuq warmi",
             name_en="Pregnant woman", preferential=True, order=1),
    Priority(code="nino", name_es="Con niña o niño pequeño", name_qu="Wawantin",
             name_en="With a small child", preferential=True, order=2),
    Priority(code="adulto_mayor", name_es="Persona adulta mayor", name_qu="Machu paya",
             name_en="Older adult", preferential=True, order=3),
    Priority(code="discapacidad", name_es="Persona con discapacidad",
             name_qu="Discapacidadniyuq runa", name_en="Person with a disability",
             preferential=True, order=4),
    Priority(code="cita", name_es="Con cita", name_qu="Tupanakuywan",
             name_en="With an appointment", appointment=True, order=5),
)
