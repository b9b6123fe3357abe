# Las páginas del directorio y las cuentas del personal de la Secretaría, en español.

## Estados Miembros
directory-title = Directorio
directory-intro = Los Estados Miembros de la OEA y sus puntos de contacto en el marco de la MFC N.º 2. A los puntos de contacto de cada Estado se les muestran las horas en su huso horario.
directory-add-poc = Agregar un punto de contacto
directory-col-state = Estado Miembro
directory-col-participating = Participa en la MFC N.º 2
directory-col-time-zone = Huso horario
directory-col-active-pocs = Puntos de contacto activos
directory-yes = Sí
directory-no = No
directory-no-policy-poc = Sin punto de contacto de nivel político activo
directory-back = Volver al directorio
directory-state-pocs = Puntos de contacto
directory-show-all = Mostrar también los puntos de contacto desactivados
directory-active-only = Mostrar solo los puntos de contacto activos
directory-no-pocs = Este Estado no tiene puntos de contacto en el directorio.
directory-next-page = Más puntos de contacto
directory-secretariat-only = Solo la Secretaría del CICTE modifica esta parte del directorio.
directory-done-added = Se agregó el punto de contacto.
directory-done-saved = Se guardaron los cambios.
directory-done-confirmed = Se confirmó que los datos están vigentes.
directory-done-deactivated = Se desactivó el punto de contacto.
directory-done-removed = Se eliminó la cuenta del personal; sus sesiones se cerraron.
directory-done-state-saved = Se guardó la configuración del Estado.
directory-done-staff-added = Se agregó la cuenta del personal. Su titular inicia sesión con un enlace enviado a esa dirección.
directory-invalid-member_state = Elija un Estado Miembro de la OEA.
directory-invalid-name = Ingrese un nombre (200 caracteres como máximo, en una sola línea).
directory-invalid-affiliation = Ingrese la institución (300 caracteres como máximo, en una sola línea).
directory-invalid-role = Elija una función.
directory-invalid-email = Ingrese una dirección de correo electrónico, por ejemplo nombre@ministerio.gob.
directory-invalid-phone = Ingrese un número de teléfono como +56 2 2827 4200: dígitos, espacios y + - . ( ), de 5 a 20 dígitos.
directory-invalid-languages = Ingrese códigos de idioma de dos letras separados por comas, por ejemplo es, en (cada uno una sola vez, 10 como máximo).
directory-invalid-time_zone = Ingrese un huso horario IANA tal como está escrito en la lista, por ejemplo America/Santiago.
directory-invalid-participating = Marque la casilla o déjela vacía.

## Configuración de un Estado (Secretaría)
state-form-title = Participación y huso horario
state-form-participating = Este Estado participa en la MFC N.º 2
state-form-participating-hint = Un Estado que no participa no puede enviar ni recibir consultas.
state-form-time_zone = Huso horario
state-form-time_zone-hint = El nombre IANA del huso horario de la capital, por ejemplo America/Santiago.
state-form-submit = Guardar

## Puntos de contacto
poc-col-name = Nombre e institución
poc-col-role = Función
poc-col-contact = Contacto
poc-col-languages = Idiomas
poc-col-confirmed = Última confirmación
poc-col-state = Estado Miembro
poc-deactivated = Desactivado
poc-deactivated-at = Desactivado el
poc-stale = Sin confirmar desde hace un año
poc-back = Volver a { $state }
poc-member_state = Estado Miembro
poc-name = Nombre
poc-affiliation = Institución
poc-role = Función
poc-email = Correo electrónico
poc-email-hint = Los enlaces de inicio de sesión y las consultas se envían a esta dirección.
poc-phone = Teléfono
poc-phone-hint = Opcional. En formato internacional, por ejemplo +56 2 2827 4200.
poc-languages = Idiomas
poc-languages-hint = Códigos de dos letras, por orden de preferencia, separados por comas: es, en. cbm2 escribe en el primero de los idiomas inglés, español, francés y portugués que figure en la lista.
poc-new-title = Agregar un punto de contacto
poc-new-intro = Agregue a una persona designada por un Estado Miembro. Podrá iniciar sesión de inmediato con esta dirección de correo electrónico.
poc-new-submit = Agregar el punto de contacto
poc-edit-title = Modificar los datos
poc-edit-own-note = Su Estado y su función los modifica la Secretaría del CICTE.
poc-edit-submit = Guardar los cambios
poc-confirm-title = Confirmar los datos
poc-confirm-own = Una vez al año, confirme que sus datos que figuran arriba siguen siendo correctos.
poc-confirm-other = Dejar constancia de que estos datos se verificaron con el punto de contacto.
poc-confirm-submit = Los datos están vigentes
poc-deactivate-title = Desactivar
poc-deactivate-text = Un punto de contacto desactivado no recibe nada más y ya no puede iniciar sesión. Se conservan el registro y su historial.
poc-deactivate-submit = Desactivar el punto de contacto

## Cuentas del personal
staff-title = Personal de la Secretaría
staff-intro = Las personas de la Secretaría del CICTE que pueden iniciar sesión. Ven el directorio y cuándo ocurre cada paso de las consultas, nunca lo que escriben los Estados.
staff-col-name = Nombre
staff-col-email = Correo electrónico
staff-col-added = Agregada
staff-col-actions = Acciones
staff-remove = Eliminar a { $name }
staff-add-title = Agregar una cuenta del personal
staff-email = Correo electrónico
staff-name = Nombre
staff-add-submit = Agregar la cuenta
staff-duplicate-email = Ya hay una cuenta del personal activa con esta dirección de correo electrónico.
