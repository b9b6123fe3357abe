# Las páginas de cbm2 en español. Las claves llevan el nombre de la página y del elemento.
# Cada clave existe también en en, fr y pt (de lo contrario, una prueba falla). Los términos
# oficiales siguen protocol/templates/invocation.es.txt.

site-name = cbm2
site-tagline = Medida de Fomento de la Confianza (MFC) N.º 2 de la OEA en el ciberespacio
format-datetime = %-d de %B de %Y, %H:%M

## Estructura de la página
layout-skip = Ir al contenido
layout-nav = Principal
nav-dashboard = Panel
nav-checks = Verificaciones de comunicación
nav-staff = Personal
nav-inbox = Bandeja de entrada
nav-new-inquiry = Nueva consulta
nav-directory = Directorio
nav-account = Cuenta
layout-signed-in-as = Sesión iniciada como { $name }
layout-secretariat = Secretaría del CICTE
layout-sign-out = Cerrar sesión
layout-language = Idioma
layout-language-change = Cambiar
layout-footer = cbm2 transmite las consultas entre los puntos de contacto de los Estados Miembros de la OEA en el marco de la MFC N.º 2 (párrafo 78 de la resolución AG/RES. 2925 (XLVIII-O/18)). Una consulta no constituye una acusación.
language-en = English
language-es = Español
language-fr = Français
language-pt = Português

## Errores
error-not-found-title = Página no encontrada
error-not-found-text = Esta página no existe o usted no tiene acceso a ella. Verifique la dirección o vuelva a empezar desde su bandeja de entrada.
error-forbidden-title = Acción no permitida
error-stale-form-title = Este formulario ha caducado
error-stale-form-text = El formulario se abrió en otra sesión o ha caducado. Vuelva a la página anterior, recárguela y envíe el formulario de nuevo.
error-bad-request-title = Esta dirección no es válida
error-bad-request-text = La página no puede interpretar esta dirección. Vuelva a empezar desde su bandeja de entrada.
error-internal-title = Se ha producido un error
error-internal-text = cbm2 no pudo mostrar esta página. No se ha perdido ningún dato; inténtelo de nuevo en unos instantes. Si el problema persiste, informe a su administrador.
error-too-many-title = Demasiadas solicitudes
error-too-many-text = Se recibieron demasiadas solicitudes desde aquí en poco tiempo. Espere { $seconds } segundos y vuelva a intentarlo.
error-home = Ir a la página de inicio

## Inicio de sesión
sign-in-title = Iniciar sesión
sign-in-intro = cbm2 envía un enlace de inicio de sesión a la dirección de correo electrónico que figura a su nombre en el directorio de puntos de contacto. No se necesita contraseña.
sign-in-email = Dirección de correo electrónico
sign-in-email-hint = La dirección con la que su Estado le registró como punto de contacto, o la de su cuenta de la Secretaría.
sign-in-email-invalid = Introduzca una dirección de correo electrónico, por ejemplo nombre@ministerio.gob.
sign-in-send = Enviarme un enlace de inicio de sesión
sign-in-no-account = ¿No figura en el directorio? Solicite al punto de contacto de nivel político de su Estado o a la Secretaría del CICTE que le registre.
sign-in-sent-title = Revise su correo electrónico
sign-in-sent-text = Si { $email } corresponde a un punto de contacto o a una cuenta de la Secretaría, se está enviando un enlace de inicio de sesión a esa dirección.
sign-in-sent-expiry = El enlace puede utilizarse una sola vez, dentro de los 15 minutos siguientes. Si no recibe ningún mensaje, revise su carpeta de correo no deseado o solicite un nuevo enlace.
sign-in-sent-again = Solicitar un nuevo enlace
sign-in-continue-title = Continuar a cbm2
sign-in-continue-text = Pulse el botón para iniciar sesión en este dispositivo.
sign-in-continue-button = Continuar
sign-in-continue-invalid = Este enlace de inicio de sesión ya se utilizó o ha caducado. Cada enlace puede utilizarse una sola vez, dentro de los 15 minutos siguientes.

## Bandeja de entrada
inbox-title = Bandeja de entrada
inbox-filters = Filtrar las consultas
inbox-side = Sentido
inbox-side-all = Recibidas y enviadas
inbox-side-incoming = Recibidas (dirigidas a mi Estado)
inbox-side-outgoing = Enviadas (por mi Estado)
inbox-status = Situación
inbox-status-any = Cualquier situación
inbox-overdue-only = Solo las que han superado su plazo
inbox-apply = Aplicar
inbox-empty = Ninguna consulta coincide con estos criterios.
inbox-col-inquiry = Consulta
inbox-col-state = Otro Estado
inbox-col-status = Situación
inbox-col-deadline = Plazo
inbox-col-updated = Último cambio
inbox-incoming = Recibida
inbox-outgoing = Enviada
inbox-next-page = Consultas anteriores

## Situaciones y distintivos
status-draft = Borrador
status-poc_identified = Punto de contacto identificado
status-cbm2_invoked = MFC N.º 2 invocada
status-incident_described = Incidente descrito
status-awaiting_response = En espera de respuesta
status-acknowledged = Con acuse de recibo
status-responded = Respondida
status-closed = Cerrada
status-withdrawn = Retirada
duration-days = { $n ->
    [one] { $n } día
   *[other] { $n } días
}
duration-hours = { $n ->
    [one] { $n } hora
   *[other] { $n } horas
}
duration-minutes = { $n ->
    [one] { $n } minuto
   *[other] { $n } minutos
}
badge-exercise = Ejercicio
badge-overdue = Plazo vencido
sensitivity-routine = Ordinaria
sensitivity-urgent = Urgente
sensitivity-critical = Crítica
channel-phone = Teléfono
channel-email = Correo electrónico
channel-meeting = Reunión
channel-other = Otro
poc-role-policy = nivel político
poc-role-technical = nivel técnico
poc-role-mfa = relaciones exteriores

## Página de la consulta
inquiry-title = Consulta
inquiry-exercise-banner = EJERCICIO: esta consulta forma parte de un ejercicio; no se trata de un incidente real.
inquiry-done = Registrado: { $action }.
inquiry-steps = Etapas de la consulta
inquiry-summary = Resumen
inquiry-requesting-state = Estado solicitante
inquiry-responding-state = Estado consultado
inquiry-time-sensitivity = Grado de urgencia
inquiry-created = Apertura
inquiry-sent = Envío
inquiry-acknowledged = Acuse de recibo
inquiry-responded = Respuesta
inquiry-ended = Cierre
inquiry-due = Plazo
inquiry-protocol = Protocolo
inquiry-version = versión { $version } del registro
inquiry-metadata-only = La Secretaría ve cuándo se produjo cada paso, nunca lo que escribieron los Estados.
inquiry-record = La consulta
inquiry-requester = Punto de contacto solicitante
inquiry-responding-pocs = Puntos de contacto consultados
inquiry-contact-provided = facilitados el { $at }
inquiry-contact-awaited = solicitados, aún no facilitados
inquiry-shared-with = Compartida con
inquiry-invocation = Invocación de la MFC N.º 2
inquiry-logged-contacts = Contactos fuera de cbm2
inquiry-timeline = Cronología
inquiry-chain-position = Entrada { $seq } del registro de auditoría
inquiry-due-local = { $state }: { $time }
inquiry-working-days = { $days } días hábiles del Estado que responde
inquiry-signed-record = Descargar el registro firmado (JSON)
inquiry-signed-record-hint = firmado por esta instancia; cualquiera puede verificarlo sin conexión con cbm2 audit verify-record y la clave pública de la instancia
action-attach-title = Adjuntar un archivo como evidencia
action-attach-submit = Adjuntar el archivo
inquiry-evidence = Evidencia
inquiry-evidence-size = { $size } bytes
inquiry-evidence-sha256 = SHA-256 { $hash }
inquiry-evidence-file = Archivo
inquiry-evidence-hint = Como máximo { $limit }. Tipos aceptados: { $types }. El otro Estado ve su nombre, tipo, tamaño y SHA-256, y lo descarga; la Secretaría solo ve que hay un archivo adjunto.
inquiry-evidence-count = Archivos adjuntos: { $count } (sus nombres y contenidos son solo para los dos Estados)
inquiry-attach-no-file = Elija un archivo para adjuntar.
inquiry-actions = Lo que puede hacer ahora
inquiry-review-before-sending = Revise la invocación y la descripción que figuran más arriba: al enviarlas, se entregarán a los puntos de contacto del Estado consultado.
inquiry-changed = La consulta cambió después de que usted abriera esta página. Se muestra en su estado actual: revísela y vuelva a enviar su formulario.

## Eventos
event-created = Borrador abierto
event-lookup_poc = Búsqueda de los puntos de contacto
event-invoke = MFC N.º 2 invocada
event-describe = Incidente descrito
event-request_info = Solicitud de información (enviada)
event-acknowledge = Acuse de recibo
event-update = Actualización
event-respond = Respuesta
event-follow_up = Preguntas de seguimiento
event-close = Cerrada
event-withdraw = Retirada
event-remind = Recordatorio de la Secretaría
event-deadline_reminder = Plazo próximo a vencer
event-deadline_missed = Plazo incumplido
event-message = Mensaje
event-log_contact = Contacto fuera de cbm2 registrado
event-share = Compartida dentro del Estado
event-unshare = Ya no se comparte
event-attachment_added = Archivo adjuntado
actor-secretariat = Secretaría del CICTE
actor-engine = cbm2
actor-unknown = Desconocido

## Formularios de acción
action-lookup_poc-title = 1. Elija el Estado consultado
action-lookup_poc-submit = Buscar sus puntos de contacto
field-lookup_poc-member_state = Estado consultado
field-lookup_poc-member_state-hint = El Estado desde cuyo territorio parece originarse la actividad. Sus puntos de contacto de nivel político se obtienen del directorio.
action-invoke-title = 2. Invoque la MFC N.º 2
action-invoke-submit = Preparar la invocación
field-invoke-languages = Idiomas de la invocación
field-invoke-languages-hint = Si no marca ninguno, se utilizará el primer idioma de los puntos de contacto consultados.
action-describe-title = 3. Describa el incidente
action-describe-submit = Guardar la descripción
field-describe-nature = Naturaleza de la actividad
field-describe-category = Categoría
field-describe-sectors = Sectores afectados
field-describe-sectors-hint = Uno por línea.
field-describe-observed_from = Observada desde
field-describe-observed_to = Observada hasta
field-describe-indicators = Indicadores técnicos
field-describe-indicators-hint = Uno por línea: el tipo (ipv4, ipv6, domain, url, hash, email, other), un espacio y el valor. Por ejemplo: ipv4 203.0.113.7
field-describe-indicators_stix = Indicadores como paquete STIX 2.1
field-describe-indicators_stix-hint = Opcional: pegue un paquete exportado por las herramientas de su CSIRT (JSON). Sus indicadores de una sola comparación, como [ipv4-addr:value = '203.0.113.7'], se añaden a los de arriba.
inquiry-indicators-stix = Descargar en STIX 2.1 (TLP:AMBER+STRICT)
action-request_info-title = 4. Solicite información y envíe la consulta
action-request_info-submit = Enviar la consulta
field-request_info-questions = Preguntas
field-request_info-contact = Sus datos de contacto
field-request_info-contact-hint = Tomados de su registro en el directorio; modifíquelos si es necesario.
field-request_info-time_sensitivity = Grado de urgencia
field-request_info-respond_by = Fecha límite de respuesta (opcional)
field-request_info-respond_by-hint = En su huso horario. Déjela en blanco para aplicar el plazo que corresponde al grado de urgencia.
action-acknowledge-title = Acusar recibo
action-acknowledge-submit = Enviar el acuse de recibo
field-acknowledge-estimated_timeframe = Plazo estimado de respuesta
field-acknowledge-estimated_timeframe-hint = En días y horas, o indique una fecha más abajo.
field-acknowledge-estimated_working_days = O bien: días hábiles de su Estado
field-acknowledge-estimated_working_days-hint = Se cuentan los días hábiles de su Estado, sin fines de semana ni feriados; el plazo vence al cierre de su jornada.
field-acknowledge-respond_by = O fecha límite de respuesta
field-acknowledge-message = Mensaje
field-acknowledge-contact_requested = Solicitar los datos de contacto del solicitante
action-update-title = Enviar una actualización
action-update-submit = Enviar la actualización
field-update-message = Mensaje
field-update-estimated_timeframe = Nuevo plazo estimado de respuesta
field-update-respond_by = O fecha límite de respuesta
field-update-reason = Motivo del cambio
action-respond-title = Responder
action-respond-submit = Enviar la respuesta
field-respond-information = Información
field-respond-third_states = Otros Estados involucrados
action-follow_up-title = Formular preguntas de seguimiento
action-follow_up-submit = Enviar las preguntas de seguimiento
field-follow_up-questions = Preguntas
field-follow_up-time_sensitivity = Grado de urgencia
field-follow_up-respond_by = Fecha límite de respuesta (opcional)
action-close-title = Cerrar la consulta
action-close-submit = Cerrar
field-close-resolution = Conclusión
action-withdraw-title = Retirar la consulta
action-withdraw-submit = Retirar
field-withdraw-reason = Motivo
action-remind-title = Enviar un recordatorio al Estado consultado
action-remind-submit = Enviar un recordatorio
action-message-title = Enviar un mensaje
action-message-submit = Enviar el mensaje
field-message-text = Mensaje
field-message-contact = Datos de contacto que desea facilitar (opcional)
action-log_contact-title = Registrar un contacto fuera de cbm2
action-log_contact-submit = Registrar el contacto
field-log_contact-channel = Medio
field-log_contact-at = Fecha y hora
field-log_contact-summary = Resumen
action-share-title = Compartir con un colega de su Estado
action-share-submit = Compartir
field-share-poc_id = Punto de contacto
action-unshare-title = Dejar de compartir
action-unshare-submit = Dejar de compartir
field-unshare-poc_id = Punto de contacto
form-required = (obligatorio)
form-choose = Seleccione…
form-part-days = Días
form-part-hours = Horas
form-part-name = Nombre
form-part-email = Correo electrónico
form-part-phone = Teléfono
form-error-whole-number = Introduzca un número entero entre 0 y 10.000.
form-error-datetime = Introduzca una fecha y una hora que existan en su huso horario.

## Nueva consulta
new-title = Nueva consulta
new-intro = Una consulta solicita a otro Estado información sobre una actividad cibernética maliciosa que parece originarse en su territorio. Se prepara en cuatro pasos; nada llega al otro Estado hasta el último.
new-step-lookup = Elija el Estado consultado: sus puntos de contacto de nivel político se obtienen del directorio.
new-step-invoke = Invoque la MFC N.º 2: cbm2 redacta la invocación conforme al párrafo 78 de la resolución AG/RES. 2925 (XLVIII-O/18) en el idioma que usted elija, para que la revise.
new-step-describe = Describa el incidente y sus indicadores técnicos.
new-step-request = Formule sus preguntas, indique sus datos de contacto y el grado de urgencia; luego envíe la consulta.
new-not-accusation = Una consulta no constituye una acusación.
new-exercise = Se trata de un ejercicio
new-exercise-hint = Los ejercicios se identifican como tales en todo el sistema y se excluyen de las cifras de la Secretaría.
new-start = Iniciar el borrador
new-policy-only = Solo un punto de contacto de nivel político de un Estado participante puede abrir consultas.
